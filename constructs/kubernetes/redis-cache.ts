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
  memoryBytes,
  scratchVolume,
  selectorLabels,
} from "./_pod";
import { SecretSource } from "./secret-source";

/** Commands renamed away by default: they wipe data, reconfigure or stop the server. */
export const REDIS_DANGEROUS_COMMANDS = [
  "FLUSHALL",
  "FLUSHDB",
  "CONFIG",
  "DEBUG",
  "SHUTDOWN",
  "MODULE",
] as const;

/** Props of {@link RedisCache}. */
export interface RedisCacheProps {
  /** @default "ai-redis" */
  readonly name?: string;
  /** @default "default" */
  readonly namespace?: string;
  /**
   * Pinned Redis image (the guide's `redis:7-alpine`, pinned to a patch release).
   * @default "redis:7.4.1-alpine"
   */
  readonly image?: string;
  /**
   * Where the password comes from (key `password`).
   * Clients get it inside `REDIS_URL` unescaped, so it must be URL-safe: the
   * kit's variable validates that; an existing Secret must hold only letters,
   * digits and `. _ ~ -` (at least 16).
   * @default SecretSource.fromTerraformVariables() - sensitive variable `<name>_password`
   */
  readonly password?: SecretSource;
  /** @default 5 */
  readonly storageGiB?: number;
  /** @default - the cluster's default storage class */
  readonly storageClassName?: string;
  /**
   * Commands disabled with `rename-command X ""`.
   * @default REDIS_DANGEROUS_COMMANDS
   */
  readonly disabledCommands?: readonly string[];
  /** @default "100m" */
  readonly cpuRequest?: string;
  /** @default "256Mi" */
  readonly memoryRequest?: string;
  /** @default "500m" */
  readonly cpuLimit?: string;
  /** @default "512Mi" */
  readonly memoryLimit?: string;
}

/** Redis with append-only persistence and a password, reachable only by pods carrying {@link clientPodLabels}. */
export class RedisCache extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly image: string;
  public readonly storageGiB: number;
  public readonly storageClassName: string | undefined;
  public readonly disabledCommands: readonly string[];
  /** Client Service DNS name. */
  public readonly host: string;
  public readonly port = 6379;
  public readonly secretName: string;
  public readonly passwordKey = "password";
  public readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Labels selecting the service's pods (for clients' egress rules). */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  public readonly passwordVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: RedisCacheProps = {}) {
    super(scope, id);
    this.name = props.name ?? "ai-redis";
    this.namespace = props.namespace ?? "default";
    this.image = props.image ?? "redis:7.4.1-alpine";
    this.storageGiB = props.storageGiB ?? 5;
    this.storageClassName = props.storageClassName;
    this.disabledCommands = props.disabledCommands ?? REDIS_DANGEROUS_COMMANDS;
    const cpuRequest = props.cpuRequest ?? "100m";
    const memoryRequest = props.memoryRequest ?? "256Mi";
    const cpuLimit = props.cpuLimit ?? "500m";
    const memoryLimit = props.memoryLimit ?? "512Mi";

    checkName("RedisCache", "name", this.name);
    checkImage("RedisCache", "image", this.image);
    checkInteger(
      "RedisCache",
      "storageGiB",
      this.storageGiB,
      1,
      "give the volume size in GiB, for example 5",
    );
    checkResources("RedisCache", cpuRequest, memoryRequest, cpuLimit, memoryLimit);
    for (const command of this.disabledCommands) {
      if (!/^[A-Z]+$/.test(command)) {
        throw new Error(
          `RedisCache: disabledCommands entry ("${command}") is not a Redis command name; use upper case, for example "FLUSHALL"`,
        );
      }
    }
    const source = props.password ?? SecretSource.fromTerraformVariables();
    if (source.kind === "aws-secrets-manager") {
      throw new Error(
        "RedisCache: password (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
      );
    }

    this.host = `${this.name}.${this.namespace}.svc.cluster.local`;
    this.clientPodLabels = accessLabel(this.name);
    this.selectorLabels = selectorLabels(this.name, "redis");
    const bound = source.bind(new Construct(this, "Auth"), {
      secretName: `${this.name}-auth`,
      namespace: this.namespace,
      keys: [this.passwordKey],
      defaultPrefix: this.name,
      describe: () => `Password of ${this.name} (sensitive)`,
      urlSafe: true,
    });
    this.secretName = bound.secretName ?? `${this.name}-auth`;
    this.passwordVariable = bound.variables[this.passwordKey];

    // Stay below the container limit: Redis refuses writes (noeviction, which BullMQ needs) instead of being OOM-killed.
    const maxMemoryMiB = Math.floor((memoryBytes(memoryLimit) * 0.75) / 2 ** 20);
    const passwordFromSecret = { secretKeyRef: { name: this.secretName, key: this.passwordKey } };
    const ping = ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"];
    this.statefulSet = statefulDataService(this, {
      name: this.name,
      namespace: this.namespace,
      component: "redis",
      image: this.image,
      port: this.port,
      portName: "redis",
      uid: 999,
      storageGiB: this.storageGiB,
      storageClassName: this.storageClassName,
      dataMountPath: "/data",
      cpuRequest,
      memoryRequest,
      cpuLimit,
      memoryLimit,
      container: {
        command: ["redis-server"],
        // $(REDIS_PASSWORD) is expanded by the kubelet; the pod spec holds only the reference.
        args: [
          "--appendonly",
          "yes",
          "--maxmemory",
          `${maxMemoryMiB}mb`,
          "--maxmemory-policy",
          "noeviction",
          "--dir",
          "/data",
          "--requirepass",
          "$(REDIS_PASSWORD)",
          ...this.disabledCommands.flatMap((command) => ["--rename-command", command, ""]),
        ],
        env: [
          { name: "REDIS_PASSWORD", valueFrom: passwordFromSecret },
          // redis-cli in the probes authenticates with this.
          { name: "REDISCLI_AUTH", valueFrom: passwordFromSecret },
        ],
        startupProbe: { exec: { command: ping }, periodSeconds: 5, failureThreshold: 30, timeoutSeconds: 3 },
        livenessProbe: { exec: { command: ping }, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 3 },
        readinessProbe: { exec: { command: ping }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
      },
      mounts: [{ volume: scratchVolume("tmp"), mountPath: "/tmp" }],
    });
  }
}
