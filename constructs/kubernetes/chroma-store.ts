import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { DataService } from "./_data-service";
import { PART_OF, scratchVolume } from "./_pod";
import type { IVectorStore } from "./data-services";
import type { SecretSource } from "./secret-source";

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
export class ChromaStore extends DataService implements IVectorStore {
  public readonly dataMountPath: string;
  public readonly port = 8000;
  /** `http://host:port`, the gateway's `CHROMA_URL`. */
  public readonly url: string;
  public readonly secretName: string;
  public readonly tokenKey = "token";
  public readonly tokenVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: ChromaStoreProps = {}) {
    super(scope, id, props, {
      owner: "ChromaStore",
      component: "chroma",
      name: "ai-chroma",
      image: "chromadb/chroma:0.6.3",
      storageGiB: 20,
      cpuRequest: "250m",
      memoryRequest: "512Mi",
      cpuLimit: "1000m",
      memoryLimit: "2Gi",
    });
    this.dataMountPath = props.dataMountPath ?? "/chroma/chroma";

    this.checkResources();
    if (!this.dataMountPath.startsWith("/") || this.dataMountPath === "/") {
      throw new Error(
        `ChromaStore: dataMountPath ("${this.dataMountPath}") must be an absolute directory other than "/", for example "/chroma/chroma"`,
      );
    }
    const secret = this.bindSecret({
      prop: "token",
      source: props.token,
      key: this.tokenKey,
      describe: () => `Auth token of ${this.name} (sensitive)`,
    });
    this.url = `http://${this.host}:${this.port}`;
    this.secretName = secret.secretName;
    this.tokenVariable = secret.variable;

    const logConfig = new ConfigMapV1(this, "LogConfig", {
      metadata: {
        name: `${this.name}-log-config`,
        namespace: this.namespace,
        labels: { ...PART_OF, ...this.selectorLabels },
      },
      data: { "log_config.json": JSON.stringify(CHROMA_LOG_CONFIG, null, 2) },
    });

    const heartbeat = { httpGet: { path: "/api/v2/heartbeat", port: "http" } };
    this.statefulSet = this.createStatefulSet({
      port: this.port,
      portName: "http",
      uid: 1000,
      dataMountPath: this.dataMountPath,
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
