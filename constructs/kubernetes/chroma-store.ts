import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { statefulDataService } from "./_data-service";
import {
  accessLabel,
  checkImage,
  checkInteger,
  checkName,
  checkResources,
  scratchVolume,
  selectorLabels,
} from "./_pod";
import { SecretSource } from "./secret-source";

/** Props of {@link ChromaStore}. */
export interface ChromaStoreProps {
  /** @default "ai-chroma" */
  readonly name?: string;
  /** @default "default" */
  readonly namespace?: string;
  /**
   * Pinned Chroma image (serves `/api/v2`).
   * @default "chromadb/chroma:0.6.3"
   */
  readonly image?: string;
  /**
   * Where the auth token comes from (key `token`).
   * @default SecretSource.fromTerraformVariables() - sensitive variable `<name>_token`
   */
  readonly token?: SecretSource;
  /** @default 20 */
  readonly storageGiB?: number;
  /** @default - the cluster's default storage class */
  readonly storageClassName?: string;
  /**
   * Where the volume is mounted and Chroma persists.
   * @default "/chroma/chroma"
   */
  readonly dataMountPath?: string;
  /** @default "250m" */
  readonly cpuRequest?: string;
  /** @default "512Mi" */
  readonly memoryRequest?: string;
  /** @default "1000m" */
  readonly cpuLimit?: string;
  /** @default "2Gi" */
  readonly memoryLimit?: string;
}

/** Chroma with token auth and a persistent volume, reachable only by pods carrying {@link clientPodLabels}. */
export class ChromaStore extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly image: string;
  public readonly storageGiB: number;
  public readonly storageClassName: string | undefined;
  public readonly dataMountPath: string;
  public readonly host: string;
  public readonly port = 8000;
  /** `http://host:port`, the gateway's `CHROMA_URL`. */
  public readonly url: string;
  public readonly secretName: string;
  public readonly tokenKey = "token";
  public readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Labels selecting the service's pods (for clients' egress rules). */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  public readonly tokenVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: ChromaStoreProps = {}) {
    super(scope, id);
    this.name = props.name ?? "ai-chroma";
    this.namespace = props.namespace ?? "default";
    this.image = props.image ?? "chromadb/chroma:0.6.3";
    this.storageGiB = props.storageGiB ?? 20;
    this.storageClassName = props.storageClassName;
    this.dataMountPath = props.dataMountPath ?? "/chroma/chroma";
    const cpuRequest = props.cpuRequest ?? "250m";
    const memoryRequest = props.memoryRequest ?? "512Mi";
    const cpuLimit = props.cpuLimit ?? "1000m";
    const memoryLimit = props.memoryLimit ?? "2Gi";

    checkName("ChromaStore", "name", this.name);
    checkImage("ChromaStore", "image", this.image);
    checkInteger(
      "ChromaStore",
      "storageGiB",
      this.storageGiB,
      1,
      "give the volume size in GiB, for example 20",
    );
    checkResources("ChromaStore", cpuRequest, memoryRequest, cpuLimit, memoryLimit);
    if (!this.dataMountPath.startsWith("/") || this.dataMountPath === "/") {
      throw new Error(
        `ChromaStore: dataMountPath ("${this.dataMountPath}") must be an absolute directory other than "/", for example "/chroma/chroma"`,
      );
    }
    const source = props.token ?? SecretSource.fromTerraformVariables();
    if (source.kind === "aws-secrets-manager") {
      throw new Error(
        "ChromaStore: token (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
      );
    }

    this.host = `${this.name}.${this.namespace}.svc.cluster.local`;
    this.url = `http://${this.host}:${this.port}`;
    this.clientPodLabels = accessLabel(this.name);
    this.selectorLabels = selectorLabels(this.name, "chroma");
    const bound = source.bind(new Construct(this, "Auth"), {
      secretName: `${this.name}-auth`,
      namespace: this.namespace,
      keys: [this.tokenKey],
      defaultPrefix: this.name,
      describe: () => `Auth token of ${this.name} (sensitive)`,
      urlSafe: true,
    });
    this.secretName = bound.secretName ?? `${this.name}-auth`;
    this.tokenVariable = bound.variables[this.tokenKey];

    const heartbeat = { httpGet: { path: "/api/v2/heartbeat", port: "http" } };
    this.statefulSet = statefulDataService(this, {
      name: this.name,
      namespace: this.namespace,
      component: "chroma",
      image: this.image,
      port: this.port,
      portName: "http",
      uid: 1000,
      storageGiB: this.storageGiB,
      storageClassName: this.storageClassName,
      dataMountPath: this.dataMountPath,
      cpuRequest,
      memoryRequest,
      cpuLimit,
      memoryLimit,
      container: {
        env: [
          { name: "IS_PERSISTENT", value: "TRUE" },
          { name: "PERSIST_DIRECTORY", value: this.dataMountPath },
          { name: "ANONYMIZED_TELEMETRY", value: "FALSE" },
          {
            name: "CHROMA_SERVER_AUTHN_PROVIDER",
            value: "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
          },
          { name: "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER", value: "Authorization" },
          {
            name: "CHROMA_SERVER_AUTHN_CREDENTIALS",
            valueFrom: { secretKeyRef: { name: this.secretName, key: this.tokenKey } },
          },
        ],
        startupProbe: { ...heartbeat, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 },
        livenessProbe: { ...heartbeat, periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
        readinessProbe: { ...heartbeat, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
      },
      mounts: [{ volume: scratchVolume("tmp", "256Mi"), mountPath: "/tmp" }],
    });
  }
}
