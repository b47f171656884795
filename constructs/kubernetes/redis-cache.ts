import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { REDIS_SERVER_LAUNCH } from "../_redis-launch";
import { DataService } from "./_data-service";
import { memoryBytes, scratchVolume } from "./_pod";
import type { IRedis } from "./data-services";
import type { SecretSource } from "./secret-source";

export { REDIS_SERVER_LAUNCH } from "../_redis-launch";

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
  /**
   * What Redis does at maxmemory. `noeviction` refuses writes (what BullMQ, budgets and rate
   * limits need); `allkeys-lru` evicts, for an instance that holds only the response cache.
   * Eviction is per server, so the two roles need two instances.
   * @default "noeviction"
   */
  readonly maxmemoryPolicy?: "noeviction" | "allkeys-lru" | "allkeys-lfu" | "volatile-lru";
  /**
   * RDB snapshot rules (`--save`), besides the append-only file: "<seconds> <changes>" pairs.
   * @default "3600 1 300 100"
   */
  readonly snapshotSchedule?: string;
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
export class RedisCache extends DataService implements IRedis {
  public readonly disabledCommands: readonly string[];
  public readonly maxmemoryPolicy: string;
  public readonly snapshotSchedule: string;
  public readonly port = 6379;
  public readonly secretName: string;
  public readonly passwordKey = "password";
  public readonly passwordVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: RedisCacheProps = {}) {
    super(scope, id, props, {
      owner: "RedisCache",
      component: "redis",
      name: "ai-redis",
      image: "redis:7.4.1-alpine",
      storageGiB: 5,
      cpuRequest: "100m",
      memoryRequest: "256Mi",
      cpuLimit: "500m",
      memoryLimit: "512Mi",
    });
    this.disabledCommands = props.disabledCommands ?? REDIS_DANGEROUS_COMMANDS;
    this.maxmemoryPolicy = props.maxmemoryPolicy ?? "noeviction";
    this.snapshotSchedule = props.snapshotSchedule ?? "3600 1 300 100";
    if (!/^(\d+ \d+)( \d+ \d+)*$/.test(this.snapshotSchedule)) {
      throw new Error(
        `RedisCache: snapshotSchedule ("${this.snapshotSchedule}") must be "<seconds> <changes>" pairs, for example "3600 1 300 100"`,
      );
    }

    this.checkResources();
    for (const command of this.disabledCommands) {
      if (!/^[A-Z]+$/.test(command)) {
        throw new Error(
          `RedisCache: disabledCommands entry ("${command}") is not a Redis command name; use upper case, for example "FLUSHALL"`,
        );
      }
    }
    const secret = this.bindSecret({
      prop: "password",
      source: props.password,
      key: this.passwordKey,
      describe: () => `Password of ${this.name} (sensitive)`,
    });
    this.secretName = secret.secretName;
    this.passwordVariable = secret.variable;

    // Stay below the container limit: Redis refuses writes (noeviction, which BullMQ needs) instead of being OOM-killed.
    const maxMemoryMiB = Math.floor((memoryBytes(this.memoryLimit) * 0.75) / 2 ** 20);
    const passwordFromSecret = { secretKeyRef: { name: this.secretName, key: this.passwordKey } };
    const ping = ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"];
    this.statefulSet = this.createStatefulSet({
      port: this.port,
      portName: "redis",
      uid: 999,
      dataMountPath: "/data",
      container: {
        // The password reaches redis-server as configuration on stdin ("-"), never in its
        // argv (which every process in the pod, and ps on the node, can read).
        command: ["sh", "-c", REDIS_SERVER_LAUNCH, "redis-server"],
        args: [
          "--appendonly",
          "yes",
          "--maxmemory",
          `${maxMemoryMiB}mb`,
          "--maxmemory-policy",
          this.maxmemoryPolicy,
          "--save",
          this.snapshotSchedule,
          "--dir",
          "/data",
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
