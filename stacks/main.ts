import { resolve } from "node:path";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import {
  App,
  type AppConfig,
  Aspects,
  LocalBackend,
  S3Backend,
  TerraformStack,
  TerraformVariable,
  Token,
} from "cdktf";
import type { Construct } from "constructs";
import { ENVIRONMENT_NAMES } from "../app/config/defaults";
import { LocalAiEnvironment } from "../constructs/docker/local-ai-environment";
import { AppSecrets } from "../constructs/kubernetes/app-secrets";
import { BlueGreenGateway } from "../constructs/kubernetes/blue-green-gateway";
import { ChromaStore } from "../constructs/kubernetes/chroma-store";
import { DestroyProtection, destroyAllowed } from "../constructs/kubernetes/destroy-protection";
import { ExternalChroma } from "../constructs/kubernetes/external-chroma";
import { ExternalPostgres } from "../constructs/kubernetes/external-postgres";
import { ExternalRedis } from "../constructs/kubernetes/external-redis";
import { GatewayMonitoring } from "../constructs/kubernetes/gateway-monitoring";
import { PgvectorDatabase } from "../constructs/kubernetes/pgvector-database";
import { BackupTarget, PostgresBackup } from "../constructs/kubernetes/postgres-backup";
import { RedisCache } from "../constructs/kubernetes/redis-cache";
import { SecretSource } from "../constructs/kubernetes/secret-source";
import { ENVIRONMENTS, type EnvironmentConfig, type ManagedEndpoint } from "./environments";
import { backendChosenInEnv, type ConfiguredStateBackend } from "./state-backend";

/** Pod Security Admission labels of the namespaces the kit creates. */
export const POD_SECURITY_RESTRICTED: Readonly<Record<string, string>> = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/audit": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
};

/** Where a stack keeps its Terraform state. */
export type StackBackend =
  | { readonly kind: "local" }
  | {
      readonly kind: "s3";
      readonly bucket: string;
      readonly region: string;
      readonly keyPrefix: string;
      readonly dynamodbTable: string | undefined;
    }
  | ConfiguredStateBackend;

/** Props of {@link EnvironmentStack}. */
export interface EnvironmentStackProps {
  readonly environment: EnvironmentConfig;
  /** @default - local state file `terraform.<stack>.tfstate` in the repository root */
  readonly backend?: StackBackend;
  /**
   * Drop the environment's destroy protection for this synth (buildApp sets it when
   * `AI_ALLOW_DESTROY` names the stack). @default false
   */
  readonly allowDestroy?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Synth-time settings from the environment: the backend (`TF_BACKEND=local|s3`;
 * s3 reads `TF_STATE_BUCKET`, `TF_STATE_REGION`, `TF_STATE_KEY_PREFIX`,
 * `TF_STATE_DYNAMODB_TABLE`). Throws naming the variable. Image tags are not
 * settings: they are committed in environments.ts (`npm run release`).
 */
export function stackSettingsFromEnv(env: Env): { backend: StackBackend } {
  if (env["GATEWAY_IMAGE_TAG"]?.trim()) {
    // Refuse loudly: a deploy that silently ignored it would ship something else than CI believes.
    throw new Error(
      "GATEWAY_IMAGE_TAG is not read any more: image tags are committed in stacks/environments.ts; run `npm run release -- --env <environment> --tag <tag>` in a pull request, then deploy without GATEWAY_IMAGE_TAG",
    );
  }
  const kind = env["TF_BACKEND"]?.trim() || "local";
  if (kind === "local") return { backend: { kind: "local" } };
  if (kind !== "s3") throw new Error(`TF_BACKEND ("${kind}") is not a backend; use local or s3`);
  const bucket = env["TF_STATE_BUCKET"]?.trim();
  if (!bucket)
    throw new Error("TF_STATE_BUCKET: missing; required when TF_BACKEND=s3 (the state bucket's name)");
  return {
    backend: {
      kind: "s3",
      bucket,
      region: env["TF_STATE_REGION"]?.trim() || "us-east-1",
      keyPrefix: env["TF_STATE_KEY_PREFIX"]?.trim() || "ai-deploy-kit",
      dynamodbTable: env["TF_STATE_DYNAMODB_TABLE"]?.trim() || undefined,
    },
  };
}

/** One environment's infrastructure: its provider, backend and everything the gateway needs there. */
export class EnvironmentStack extends TerraformStack {
  /** The environment this stack deploys. */
  public readonly environment: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id);
    const env = props.environment;
    this.environment = env;
    const backend = props.backend ?? env.stateBackend ?? { kind: "local" };
    if (backend.kind === "configured") {
      backend.create(this, id);
    } else if (backend.kind === "s3") {
      const s3 = new S3Backend(this, {
        bucket: backend.bucket,
        key: `${backend.keyPrefix}/${id}.tfstate`,
        region: backend.region,
        encrypt: true,
        ...(backend.dynamodbTable ? { dynamodbTable: backend.dynamodbTable } : {}),
      });
      // Terraform 1.10+ locks with a lock object beside the state; cdktf 0.21 has no prop for it.
      s3.addOverride("use_lockfile", true);
    } else {
      // Relative to the stack's working directory cdktf.out/stacks/<id>: the repository root.
      new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
    }

    const gateway = env.gateway;
    const settings = {
      environment: env.name,
      aiProvider: gateway.provider,
      aiModel: gateway.model,
      aiFallbackProviders: gateway.fallbacks.map((target) => `${target.provider}/${target.model}`),
      aiTimeoutSeconds: gateway.timeoutSeconds,
      aiMaxRetries: gateway.maxRetries,
      logLevel: gateway.logLevel,
      cacheEnabled: gateway.cachingEnabled,
      cacheTtlSeconds: gateway.cacheTtlSeconds,
      monitoringEnabled: gateway.monitoringEnabled,
      dailyBudgetUsd: gateway.dailyBudgetUsd,
      budgetEnforce: gateway.budgetEnforce,
    };

    if (env.platform === "docker") {
      new DockerProvider(this, "docker", {});
      // The image is built from the working tree (rebuilt when its sources change), so its tag is only a local name.
      const tag = env.imageTag;
      const variables: Record<string, string> = {
        ENVIRONMENT: settings.environment,
        AI_PROVIDER: settings.aiProvider,
        AI_MODEL: settings.aiModel,
        AI_FALLBACK_PROVIDERS: settings.aiFallbackProviders.join(","),
        AI_TIMEOUT_SECONDS: String(settings.aiTimeoutSeconds),
        AI_MAX_RETRIES: String(settings.aiMaxRetries),
        LOG_LEVEL: settings.logLevel,
        AI_CACHE_ENABLED: String(settings.cacheEnabled),
        AI_CACHE_TTL_SECONDS: String(settings.cacheTtlSeconds),
        AI_MONITORING_ENABLED: String(settings.monitoringEnabled),
        AI_DAILY_BUDGET: String(settings.dailyBudgetUsd),
        AI_BUDGET_ENFORCE: String(settings.budgetEnforce),
      };
      new LocalAiEnvironment(this, "Local", {
        namePrefix: env.namespace,
        gatewayImage: `${env.imageRepository}:${tag}`,
        gatewaySettings: variables,
        sourceRoot: resolve(__dirname, ".."),
      });
    } else {
      // Cluster credentials come from the kubeconfig of whoever runs `cdktf deploy`, never from code.
      // null leaves the provider's own defaults in force: KUBE_CONFIG_PATH(S), then in-cluster config.
      const configPath = new TerraformVariable(this, "kubeconfig_path", {
        type: "string",
        nullable: true,
        default: Token.nullValue(),
        description:
          "Path to the kubeconfig used to reach the cluster; null uses KUBE_CONFIG_PATH or in-cluster config",
      });
      const configContext = new TerraformVariable(this, "kubeconfig_context", {
        type: "string",
        nullable: true,
        default: Token.nullValue(),
        description: "kubeconfig context; null uses the current context",
      });
      new KubernetesProvider(this, "kubernetes", {
        configPath: configPath.stringValue,
        configContext: configContext.stringValue,
      });
      // Everything lives in the namespace: the kit's constructs add depends_on to it.
      new NamespaceV1(this, "Namespace", {
        metadata: {
          name: env.namespace,
          labels: {
            "app.kubernetes.io/part-of": "ai-deploy-kit",
            // Pod Security Admission: every pod the kit creates meets "restricted"; refuse any that does not.
            ...POD_SECURITY_RESTRICTED,
          },
        },
      });
      const namespace = env.namespace;
      // The gateway derives the keys it needs (client keys, each routed provider's key)
      // and makes them required: Terraform refuses the plan without them.
      const secrets = new AppSecrets(this, "Secrets", { namespace });
      const managed = env.managedDataServices ?? {};
      const credentials = (endpoint: ManagedEndpoint) =>
        endpoint.existingSecret
          ? { credentials: SecretSource.fromExistingSecret(endpoint.existingSecret) }
          : {};
      const endpoint = (managedEndpoint: ManagedEndpoint) => ({
        namespace,
        host: managedEndpoint.host,
        egressCidrs: managedEndpoint.egressCidrs,
        ...(managedEndpoint.port === undefined ? {} : { port: managedEndpoint.port }),
        ...credentials(managedEndpoint),
      });
      const storage = { storageClassName: env.storageClassName };
      const database = managed.postgres
        ? new ExternalPostgres(this, "Database", {
            ...endpoint(managed.postgres),
            databaseName: managed.postgres.databaseName,
            username: managed.postgres.username,
          })
        : new PgvectorDatabase(this, "Database", {
            namespace,
            storageGiB: env.postgresStorageGiB,
            ...storage,
            // The gateway logs in as ai_gateway, which owns only its schema; only the server and
            // the role Job see the superuser's password.
            adminUsername: "postgres",
          });
      // A managed Postgres is backed up by its provider (RDS / Cloud SQL snapshots).
      if (database instanceof PgvectorDatabase) {
        new PostgresBackup(this, "DatabaseBackup", {
          database,
          target: BackupTarget.toVolume(storage),
          prometheusOperatorEnabled: env.prometheusOperatorEnabled,
          prometheusSelectorLabels: env.prometheusSelectorLabels,
        });
      }
      const cache = managed.redis
        ? new ExternalRedis(this, "Cache", endpoint(managed.redis))
        : new RedisCache(this, "Cache", { namespace, storageGiB: env.redisStorageGiB, ...storage });
      // The response cache on its own evicting instance: a full cache never blocks the queue,
      // budgets and rate limits on the noeviction one (eviction policy is per server).
      const responseCache = managed.responseCache
        ? new ExternalRedis(this, "ResponseCache", endpoint(managed.responseCache))
        : new RedisCache(this, "ResponseCache", {
            namespace,
            name: "ai-redis-cache",
            maxmemoryPolicy: "allkeys-lru",
            storageGiB: env.redisStorageGiB,
            ...storage,
          });
      const vectorStore = managed.chroma
        ? new ExternalChroma(this, "VectorStore", endpoint(managed.chroma))
        : new ChromaStore(this, "VectorStore", { namespace, storageGiB: env.chromaStorageGiB, ...storage });
      const gatewayService = new BlueGreenGateway(this, "Gateway", {
        ...settings,
        namespace,
        imageRepository: env.imageRepository,
        blueImageTag: env.blueImageTag,
        greenImageTag: env.greenImageTag,
        activeSlot: env.activeSlot,
        blueReplicas: env.blueReplicas,
        greenReplicas: env.greenReplicas,
        idleMinReplicas: env.idleMinReplicas,
        idleMaxReplicas: env.idleMaxReplicas,
        ...(env.blueOverrides ? { blueOverrides: env.blueOverrides } : {}),
        ...(env.greenOverrides ? { greenOverrides: env.greenOverrides } : {}),
        minReplicas: env.minReplicas,
        maxReplicas: env.maxReplicas,
        targetCpuPercent: env.targetCpuPercent,
        cpuRequest: env.requests.cpu,
        memoryRequest: env.requests.memory,
        cpuLimit: env.limits.cpu,
        memoryLimit: env.limits.memory,
        database,
        cache,
        responseCache,
        vectorStore,
        ...(env.gatewayIngressFromNamespaces
          ? { ingressFromNamespaces: env.gatewayIngressFromNamespaces }
          : {}),
        ...(env.imagePullSecrets ? { imagePullSecrets: env.imagePullSecrets } : {}),
        ...(env.metricsFromNamespaces ? { metricsFromNamespaces: env.metricsFromNamespaces } : {}),
        secrets,
      });
      new GatewayMonitoring(this, "Monitoring", {
        gateway: gatewayService,
        prometheusOperatorEnabled: env.prometheusOperatorEnabled,
        prometheusSelectorLabels: env.prometheusSelectorLabels,
      });
    }
    // KitPolicy applies itself to every kit construct; destroy protection is per environment.
    if (env.protectFromDestroy && !props.allowDestroy) Aspects.of(this).add(new DestroyProtection());
  }
}

/**
 * Builds the app with one stack per environment (`development`, `staging`, `production`);
 * `env` supplies the backend choice (see {@link stackSettingsFromEnv}).
 */
export function buildApp(config: AppConfig = {}, env: Env = process.env): App {
  const { backend } = stackSettingsFromEnv(env);
  // TF_BACKEND, when set, wins; otherwise an environment's own stateBackend, else local.
  const chosen = backendChosenInEnv(env);
  const app = new App(config);
  for (const name of ENVIRONMENT_NAMES) {
    new EnvironmentStack(app, name, {
      environment: ENVIRONMENTS[name],
      ...(chosen || !ENVIRONMENTS[name].stateBackend ? { backend } : {}),
      allowDestroy: destroyAllowed(name, env),
    });
  }
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
