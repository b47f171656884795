import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
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
  PART_OF,
  scratchVolume,
  selectorLabels,
} from "./_pod";
import { SecretSource } from "./secret-source";

/** Where the log config is mounted; `.json` makes uvicorn read it with the standard library (no PyYAML). */
export const CHROMA_LOG_CONFIG_PATH = "/etc/chroma/log_config.json";

/**
 * Chroma's log config with stream handlers only. The image's own
 * `chromadb/log_config.yml` adds a RotatingFileHandler writing `chroma.log` in
 * the working directory `/chroma`, which is read-only here (chroma-core/chroma#4044).
 */
export const CHROMA_LOG_CONFIG = {
  version: 1,
  disable_existing_loggers: false,
  formatters: {
    default: { format: "%(asctime)s %(levelname)s [%(name)s] %(message)s" },
  },
  handlers: {
    console: { class: "logging.StreamHandler", formatter: "default", stream: "ext://sys.stderr" },
  },
  loggers: {
    uvicorn: { level: "INFO", handlers: ["console"], propagate: false },
    "uvicorn.access": { level: "INFO", handlers: ["console"], propagate: false },
    chromadb: { level: "INFO", handlers: ["console"], propagate: false },
  },
  root: { level: "WARNING", handlers: ["console"] },
} as const;

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

    const logConfig = new ConfigMapV1(this, "LogConfig", {
      metadata: {
        name: `${this.name}-log-config`,
        namespace: this.namespace,
        labels: { ...PART_OF, ...this.selectorLabels },
      },
      data: { "log_config.json": JSON.stringify(CHROMA_LOG_CONFIG, null, 2) },
    });

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
        // The server command of the image's entrypoint, spelled out so it does not
        // depend on the image's CMD: only the log config differs.
        command: [
          "uvicorn",
          "chromadb.app:app",
          "--workers",
          "1",
          "--host",
          "0.0.0.0",
          "--port",
          String(this.port),
          "--proxy-headers",
          "--log-config",
          CHROMA_LOG_CONFIG_PATH,
          "--timeout-keep-alive",
          "30",
        ],
        env: [
          { name: "CHROMA_LOG_CONFIG", value: CHROMA_LOG_CONFIG_PATH },
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
      mounts: [
        { volume: scratchVolume("tmp", "256Mi"), mountPath: "/tmp" },
        {
          volume: {
            name: "log-config",
            configMap: { name: logConfig.metadata.name, defaultMode: "0444" },
          },
          mountPath: "/etc/chroma",
          readOnly: true,
        },
      ],
    });
  }
}
