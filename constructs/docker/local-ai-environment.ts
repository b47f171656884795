import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Container, type ContainerConfig } from "@cdktf/provider-docker/lib/container";
import { Image } from "@cdktf/provider-docker/lib/image";
import { Network } from "@cdktf/provider-docker/lib/network";
import { Volume } from "@cdktf/provider-docker/lib/volume";
import { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { applyKitDefaults } from "../_kit-defaults";
import { REDIS_SERVER_LAUNCH } from "../_redis-launch";
import { checkPlainSettings } from "../_secret-check";

/** Props of {@link LocalAiEnvironment}. */
export interface LocalAiEnvironmentProps {
  /**
   * Prefix of every Docker object (`<prefix>-postgres`, `<prefix>-net`, ...) and of the password variables.
   * @default "ai-dev"
   */
  readonly namePrefix?: string;
  /** Host port the gateway is published on (bound to 127.0.0.1). @default 8080 */
  readonly gatewayPort?: number;
  /**
   * Docker build context of the gateway image, relative to the stack's working
   * directory `cdktf.out/stacks/<stack>` (so the default is the repository root).
   * @default "../../.."
   */
  readonly buildContext?: string;
  /** Dockerfile path inside the context. @default "Dockerfile" */
  readonly dockerfile?: string;
  /**
   * The build context as seen from where synth runs; the files in `sourcePaths`
   * under it are hashed at synth into the image's triggers, so a change rebuilds it.
   * @default - the current directory (cdktf synth runs in the repository root)
   */
  readonly sourceRoot?: string;
  /**
   * Files and directories (relative to `sourceRoot`) the image is built from; missing ones are skipped.
   * @default - the Dockerfile, package.json, package-lock.json, tsconfig.json, scripts/ and app/
   */
  readonly sourcePaths?: readonly string[];
  /** Name and tag of the built gateway image. @default "ai-deploy-kit/gateway:dev" */
  readonly gatewayImage?: string;
  /** @default "pgvector/pgvector:0.8.0-pg16" */
  readonly postgresImage?: string;
  /** @default "redis:7.4.1-alpine" */
  readonly redisImage?: string;
  /** @default "chromadb/chroma:0.6.3" */
  readonly chromaImage?: string;
  /**
   * Non-secret gateway settings (ENVIRONMENT, AI_PROVIDER, LOG_LEVEL, ...);
   * the data-service URLs are added by the construct, and `OLLAMA_BASE_URL`
   * defaults to the host's Ollama (`http://host.docker.internal:11434`).
   * @default { ENVIRONMENT: "development" }
   */
  readonly gatewaySettings?: Readonly<Record<string, string>>;
  /** Memory limit of the gateway container, MiB. @default 1024 */
  readonly gatewayMemoryMiB?: number;
}

const OWNER = "LocalAiEnvironment";
const POSTGRES_USER = "ai_gateway";
/** Settings the construct wires to its own containers. */
const WIRED_SETTINGS = [
  "DATABASE_URL",
  "REDIS_URL",
  "REDIS_CACHE_URL",
  "CHROMA_URL",
  "PORT",
  "HOST",
  "DATA_DIR",
];

/**
 * The development environment on one Docker engine: a network, named volumes,
 * pgvector, Redis (append-only), Chroma and the gateway built from the repo's
 * Dockerfile, each with a health check and `restart: unless-stopped`.
 */
export class LocalAiEnvironment extends Construct {
  public readonly namePrefix: string;
  public readonly gatewayPort: number;
  public readonly buildContext: string;
  public readonly dockerfile: string;
  public readonly gatewayImage: string;
  public readonly postgresImage: string;
  public readonly redisImage: string;
  public readonly chromaImage: string;
  public readonly gatewaySettings: Readonly<Record<string, string>>;
  public readonly gatewayMemoryMiB: number;
  /** sha256 over `sourcePaths`: changes whenever the gateway image's inputs do. */
  public readonly sourceHash: string;
  public readonly network: Network;
  /** The gateway container. */
  public readonly gateway: Container;
  /** `http://127.0.0.1:<gatewayPort>`. */
  public readonly gatewayUrl: string;

  constructor(scope: Construct, id: string, props: LocalAiEnvironmentProps = {}) {
    super(scope, id);
    applyKitDefaults(this);
    this.namePrefix = props.namePrefix ?? "ai-dev";
    this.gatewayPort = props.gatewayPort ?? 8080;
    this.buildContext = props.buildContext ?? "../../..";
    this.dockerfile = props.dockerfile ?? "Dockerfile";
    this.gatewayImage = props.gatewayImage ?? "ai-deploy-kit/gateway:dev";
    this.postgresImage = props.postgresImage ?? "pgvector/pgvector:0.8.0-pg16";
    this.redisImage = props.redisImage ?? "redis:7.4.1-alpine";
    this.chromaImage = props.chromaImage ?? "chromadb/chroma:0.6.3";
    // Ollama runs on the developer's machine, not in the container (localhost there is the container).
    this.gatewaySettings = {
      OLLAMA_BASE_URL: "http://host.docker.internal:11434",
      ...(props.gatewaySettings ?? { ENVIRONMENT: "development" }),
    };
    this.gatewayMemoryMiB = props.gatewayMemoryMiB ?? 1024;
    this.checkProps();
    this.gatewayUrl = `http://127.0.0.1:${this.gatewayPort}`;
    this.sourceHash = hashSources(
      resolve(props.sourceRoot ?? "."),
      props.sourcePaths ?? [
        this.dockerfile,
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "scripts",
        "app",
      ],
    );

    const credentials: Credentials = {
      postgresPassword: this.password("PostgresPassword", "postgres_password", "Postgres password"),
      redisPassword: this.password("RedisPassword", "redis_password", "Redis password"),
      chromaToken: this.password("ChromaToken", "chroma_token", "Chroma auth token"),
    };
    this.network = new Network(this, "Network", { name: `${this.namePrefix}-net`, driver: "bridge" });
    const postgres = this.addPostgres(credentials);
    const redisImage = this.pull("RedisImage", this.redisImage);
    const redis = this.addRedis(redisImage, credentials);
    const redisCache = this.addRedisCache(redisImage, credentials);
    const chroma = this.addChroma(credentials);
    this.gateway = this.addGateway(credentials, [postgres, redis, redisCache, chroma]);
  }

  /** Names, ports, memory and image tags; no setting the construct wires, no secret in plain settings. */
  private checkProps(): void {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(this.namePrefix)) {
      throw new Error(
        `${OWNER}: namePrefix ("${this.namePrefix}") must be lower-case letters, digits and "-"`,
      );
    }
    if (!Number.isInteger(this.gatewayPort) || this.gatewayPort < 1 || this.gatewayPort > 65535) {
      throw new Error(
        `${OWNER}: gatewayPort (${this.gatewayPort}) must be a port from 1 to 65535, for example 8080`,
      );
    }
    if (!Number.isInteger(this.gatewayMemoryMiB) || this.gatewayMemoryMiB < 128) {
      throw new Error(
        `${OWNER}: gatewayMemoryMiB (${this.gatewayMemoryMiB}) must be a whole number of at least 128`,
      );
    }
    for (const [prop, image] of [
      ["gatewayImage", this.gatewayImage],
      ["postgresImage", this.postgresImage],
      ["redisImage", this.redisImage],
      ["chromaImage", this.chromaImage],
    ] as const) {
      const last = image.slice(image.lastIndexOf("/") + 1);
      if (!last.includes(":") && !image.includes("@sha256:")) {
        throw new Error(
          `${OWNER}: ${prop} ("${image}") has no tag; pin an immutable tag such as "${image}:1.0.0"`,
        );
      }
    }
    for (const key of WIRED_SETTINGS) {
      if (key in this.gatewaySettings) {
        throw new Error(`${OWNER}: gatewaySettings.${key} is wired by the construct; remove it`);
      }
    }
    checkPlainSettings(
      OWNER,
      "gatewaySettings",
      this.gatewaySettings,
      "keep keys and passwords out of it (the data-service passwords are sensitive Terraform variables)",
    );
  }

  /** A sensitive Terraform variable `<prefix>_<suffix>` (URL-safe, at least 16 characters); returns its value. */
  private password(variableId: string, suffix: string, what: string): string {
    const name = `${this.namePrefix.replace(/-/g, "_")}_${suffix}`;
    const variable = new TerraformVariable(this, variableId, {
      type: "string",
      sensitive: true,
      nullable: false,
      description: `${what} of the local environment (sensitive)`,
      validation: [
        {
          condition: `\${can(regex("^[A-Za-z0-9._~-]{16,}$", var.${name}))}`,
          errorMessage: `${name} must be at least 16 URL-safe characters (letters, digits, . _ ~ -).`,
        },
      ],
    });
    variable.overrideLogicalId(name);
    return variable.stringValue;
  }

  /** A named volume `<prefix>-<name>`. */
  private volume(volumeId: string, name: string): Volume {
    return new Volume(this, volumeId, { name: `${this.namePrefix}-${name}` });
  }

  /** A pulled image, kept when the environment is destroyed. */
  private pull(imageId: string, name: string): Image {
    return new Image(this, imageId, { name, keepLocally: true });
  }

  /** What every container shares: restart policy, the network under `alias`, no new privileges, rotated logs. */
  private common(alias: string): Partial<ContainerConfig> {
    return {
      restart: "unless-stopped",
      networksAdvanced: [{ name: this.network.name, aliases: [alias] }],
      securityOpts: ["no-new-privileges:true"],
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
    };
  }

  /**
   * What a data-service container starts from: named `<prefix>-<alias>`, reachable as `alias`, and
   * waited on until healthy (so the gateway, which depends on it, starts after).
   */
  private dataService(alias: string, image: string, memoryMiB: number): ContainerConfig {
    return {
      ...HEALTHY,
      ...this.common(alias),
      name: `${this.namePrefix}-${alias}`,
      image,
      memory: memoryMiB,
    };
  }

  /** pgvector with the `vector` extension created on first start. */
  private addPostgres(credentials: Credentials): Container {
    return new Container(this, "Postgres", {
      ...this.dataService("postgres", this.pull("PostgresImage", this.postgresImage).imageId, 1024),
      shmSize: 256,
      env: [
        `POSTGRES_USER=${POSTGRES_USER}`,
        `POSTGRES_DB=${POSTGRES_USER}`,
        `POSTGRES_PASSWORD=${credentials.postgresPassword}`,
      ],
      volumes: [
        {
          volumeName: this.volume("PostgresData", "postgres-data").name,
          containerPath: "/var/lib/postgresql/data",
        },
      ],
      upload: [
        {
          file: "/docker-entrypoint-initdb.d/00-vector.sql",
          content: "CREATE EXTENSION IF NOT EXISTS vector;\n",
        },
      ],
      healthcheck: health(["CMD", "pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_USER, "-d", POSTGRES_USER]),
    });
  }

  /**
   * The queue's Redis: the guide's `redis-server --appendonly yes`. Queue, budgets and rate limits
   * live here: noeviction refuses writes instead of dropping them.
   */
  private addRedis(image: Image, credentials: Credentials): Container {
    return new Container(this, "Redis", {
      ...this.dataService("redis", image.imageId, 512),
      ...redisServer(credentials.redisPassword, QUEUE_REDIS_OPTIONS),
      volumes: [{ volumeName: this.volume("RedisData", "redis-data").name, containerPath: "/data" }],
      healthcheck: REDIS_HEALTH,
    });
  }

  /**
   * The response cache on its own instance: allkeys-lru evicts (a policy is per server), so a
   * full cache never blocks the queue; nothing to persist.
   */
  private addRedisCache(image: Image, credentials: Credentials): Container {
    return new Container(this, "RedisCache", {
      ...this.dataService("redis-cache", image.imageId, 320),
      ...redisServer(credentials.redisPassword, CACHE_REDIS_OPTIONS),
      healthcheck: REDIS_HEALTH,
    });
  }

  /** Chroma, persistent, behind token authentication. */
  private addChroma(credentials: Credentials): Container {
    return new Container(this, "Chroma", {
      ...this.dataService("chroma", this.pull("ChromaImage", this.chromaImage).imageId, 2048),
      env: [
        "IS_PERSISTENT=TRUE",
        "PERSIST_DIRECTORY=/chroma/chroma",
        "ANONYMIZED_TELEMETRY=FALSE",
        "CHROMA_SERVER_AUTHN_PROVIDER=chromadb.auth.token_authn.TokenAuthenticationServerProvider",
        "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER=Authorization",
        `CHROMA_SERVER_AUTHN_CREDENTIALS=${credentials.chromaToken}`,
      ],
      volumes: [
        { volumeName: this.volume("ChromaData", "chroma-data").name, containerPath: "/chroma/chroma" },
      ],
      healthcheck: health([
        "CMD",
        "python",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v2/heartbeat', timeout=4)",
      ]),
    });
  }

  /**
   * The gateway, built from the repository (rebuilt when `sourceHash` changes), read-only with all
   * capabilities dropped, published on 127.0.0.1 only, started after the data services are healthy.
   */
  private addGateway(credentials: Credentials, dataServices: Container[]): Container {
    const image = new Image(this, "GatewayImage", {
      name: this.gatewayImage,
      keepLocally: true,
      buildAttribute: { context: this.buildContext, dockerfile: this.dockerfile, tag: [this.gatewayImage] },
      // Without triggers the provider never rebuilds an image whose name is unchanged.
      triggers: { source_sha256: this.sourceHash },
    });
    const env = {
      ...this.gatewaySettings,
      PORT: "8080",
      HOST: "0.0.0.0",
      DATA_DIR: "/var/lib/ai-gateway",
      DATABASE_URL: `postgres://${POSTGRES_USER}:${credentials.postgresPassword}@postgres:5432/${POSTGRES_USER}`,
      REDIS_URL: `redis://:${credentials.redisPassword}@redis:6379`,
      REDIS_CACHE_URL: `redis://:${credentials.redisPassword}@redis-cache:6379`,
      CHROMA_URL: "http://chroma:8000",
      CHROMA_TOKEN: credentials.chromaToken,
    };
    return new Container(this, "Resource", {
      ...this.common("gateway"),
      name: `${this.namePrefix}-gateway`,
      image: image.imageId,
      memory: this.gatewayMemoryMiB,
      readOnly: true,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
      capabilities: { drop: ["ALL"] },
      env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      // Ollama on the developer's machine is reachable as host.docker.internal.
      host: [{ host: "host.docker.internal", ip: "host-gateway" }],
      volumes: [
        {
          volumeName: this.volume("GatewayData", "gateway-data").name,
          containerPath: "/var/lib/ai-gateway",
        },
      ],
      ports: [{ internal: 8080, external: this.gatewayPort, ip: "127.0.0.1" }],
      healthcheck: health(
        [
          "CMD",
          "node",
          "-e",
          "fetch('http://127.0.0.1:8080/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
        ],
        "20s",
      ),
      dependsOn: dataServices,
    });
  }
}

/** The data services' secrets, as references to the sensitive Terraform variables. */
interface Credentials {
  readonly postgresPassword: string;
  readonly redisPassword: string;
  readonly chromaToken: string;
}

/** Terraform waits for a container to be healthy before it creates what depends on it. */
const HEALTHY = { wait: true, waitTimeout: 180 };

/** A Docker health check: every 10 s, 5 retries, after `startPeriod`. */
function health(test: string[], startPeriod = "30s") {
  return { test, interval: "10s", timeout: "5s", retries: 5, startPeriod };
}

/** The queue's redis-server: append-only on its volume; noeviction refuses writes instead of dropping jobs. */
const QUEUE_REDIS_OPTIONS = ["--appendonly", "yes", "--dir", "/data", "--maxmemory-policy", "noeviction"];
/** The response cache's redis-server: nothing persisted, 256 MB, least recently used keys evicted. */
const CACHE_REDIS_OPTIONS = [
  "--appendonly",
  "no",
  "--save",
  "",
  "--maxmemory",
  "256mb",
  "--maxmemory-policy",
  "allkeys-lru",
];

const REDIS_HEALTH = health(["CMD-SHELL", "redis-cli -h 127.0.0.1 ping | grep -q PONG"], "10s");

/**
 * Both Redis containers: the launch that keeps the password out of `docker inspect`'s command and
 * redis-server's argv (configuration on stdin), as the redis user (`sh -c` bypasses the image
 * entrypoint that drops root with gosu/su-exec).
 */
function redisServer(password: string, options: readonly string[]): Partial<ContainerConfig> {
  return {
    command: ["sh", "-c", REDIS_SERVER_LAUNCH, "redis-server", ...options],
    user: "redis",
    env: [`REDIS_PASSWORD=${password}`, `REDISCLI_AUTH=${password}`],
  };
}

/** sha256 over the paths and contents of every file under `paths` (sorted, so stable across machines). */
function hashSources(root: string, paths: readonly string[]): string {
  const files: string[] = [];
  const walk = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else files.push(path);
  };
  for (const path of paths) walk(join(root, path));
  const hash = createHash("sha256");
  for (const file of files.map((path) => relative(root, path).split("\\").join("/")).sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}
