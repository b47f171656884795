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
  TerraformResource,
  TerraformStack,
  TerraformVariable,
  Token,
} from "cdktf";
import type { Construct } from "constructs";
import { ENVIRONMENT_NAMES, type ProviderName } from "../app/config/defaults";
import { LocalAiEnvironment } from "../constructs/docker/local-ai-environment";
import { AppSecrets } from "../constructs/kubernetes/app-secrets";
import { BlueGreenGateway } from "../constructs/kubernetes/blue-green-gateway";
import { ChromaStore } from "../constructs/kubernetes/chroma-store";
import { DestroyProtection, destroyAllowed } from "../constructs/kubernetes/destroy-protection";
import { GatewayMonitoring } from "../constructs/kubernetes/gateway-monitoring";
import { KitPolicy } from "../constructs/kubernetes/kit-policy";
import { PgvectorDatabase } from "../constructs/kubernetes/pgvector-database";
import { BackupTarget, PostgresBackup } from "../constructs/kubernetes/postgres-backup";
import { RedisCache } from "../constructs/kubernetes/redis-cache";
import { ENVIRONMENTS, type EnvironmentConfig } from "./environments";
import { backendChosenInEnv, type ConfiguredStateBackend } from "./state-backend";

/** The AppSecrets key holding each provider's API key; keyless providers have none. */
const PROVIDER_SECRET_KEY: Readonly<Record<ProviderName, string | undefined>> = {
  openai: "OPENAI_API_KEY",
  claude: "CLAUDE_API_KEY",
  gemini: "GEMINI_API_KEY",
  groq: "GROQ_API_KEY",
  ollama: undefined,
};

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
      const namespaceResource = new NamespaceV1(this, "Namespace", {
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
      // The gateway refuses to start in staging/production without client keys and
      // the keys of every provider it routes to: make Terraform refuse first.
      const routed = [gateway.provider, ...gateway.fallbacks.map((target) => target.provider)];
      const requiredKeys = [
        "GATEWAY_API_KEYS",
        ...new Set(routed.flatMap((provider) => PROVIDER_SECRET_KEY[provider] ?? [])),
      ];
      const secrets = new AppSecrets(this, "Secrets", { namespace, requiredKeys });
      const database = new PgvectorDatabase(this, "Database", {
        namespace,
        storageGiB: env.postgresStorageGiB,
        storageClassName: env.storageClassName,
        // The gateway logs in as ai_gateway, which owns only its schema; only the server and
        // the role Job see the superuser's password.
        adminUsername: "postgres",
      });
      new PostgresBackup(this, "DatabaseBackup", {
        database,
        target: BackupTarget.toVolume({ storageClassName: env.storageClassName }),
        prometheusOperatorEnabled: env.prometheusOperatorEnabled,
        prometheusSelectorLabels: env.prometheusSelectorLabels,
      });
      const cache = new RedisCache(this, "Cache", {
        namespace,
        storageGiB: env.redisStorageGiB,
        storageClassName: env.storageClassName,
      });
      // The response cache on its own evicting instance: a full cache never blocks the queue,
      // budgets and rate limits on the noeviction one (eviction policy is per server).
      const responseCache = new RedisCache(this, "ResponseCache", {
        namespace,
        name: "ai-redis-cache",
        maxmemoryPolicy: "allkeys-lru",
        storageGiB: env.redisStorageGiB,
        storageClassName: env.storageClassName,
      });
      const vectorStore = new ChromaStore(this, "VectorStore", {
        namespace,
        storageGiB: env.chromaStorageGiB,
        storageClassName: env.storageClassName,
      });
      const gatewayService = new BlueGreenGateway(this, "Gateway", {
        ...settings,
        namespace,
        imageRepository: env.imageRepository,
        blueImageTag: env.blueImageTag,
        greenImageTag: env.greenImageTag,
        activeSlot: env.activeSlot,
        blueReplicas: env.blueReplicas,
        greenReplicas: env.greenReplicas,
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
      // Everything lives in the namespace, so it waits for it.
      for (const child of this.node.findAll()) {
        if (child instanceof TerraformResource && child !== namespaceResource) {
          child.dependsOn = [...(child.dependsOn ?? []), namespaceResource.fqn];
        }
      }
    }
    Aspects.of(this).add(new KitPolicy({ mode: "error" }));
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
