import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import {
  DeploymentV1,
  type DeploymentV1SpecTemplate,
  type DeploymentV1SpecTemplateSpecContainer,
  type DeploymentV1SpecTemplateSpecContainerEnv,
} from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2";
import {
  NetworkPolicyV1,
  type NetworkPolicyV1SpecEgress,
} from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { Fn, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import {
  ENVIRONMENT_DEFAULTS,
  type EnvironmentName,
  type LogLevel,
  type ProviderName,
} from "../../app/config/defaults";
import { PRESTOP_SECONDS, type ShutdownBudget, shutdownBudget } from "../../app/shutdown-budget";
import { applyKitDefaults } from "../_kit-defaults";
import { checkPlainSettings } from "../_secret-check";
import { checkCidrs, gatewayIngress, publicEgressTo } from "./_exposure";
import { checkGatewaySettings, requiredSecretKeys } from "./_gateway-config";
import {
  checkImage,
  checkInteger,
  checkName,
  checkNamespace,
  checkResources,
  componentLabels,
  containerSecurityContext,
  memoryBytes,
  podSecurityContext,
  resources,
  scratchVolume,
} from "./_pod";
import type { AppSecrets } from "./app-secrets";
import type { IPostgres, IRedis, IVectorStore } from "./data-services";

/** Label that marks a gateway pod's blue-green slot. */
export const SLOT_LABEL = "ai-deploy-kit.io/slot";
/** Label on Services a ServiceMonitor scrapes; its value is the gateway's base name. */
export const METRICS_LABEL = "ai-deploy-kit.io/metrics";

const OWNER = "AiGatewayService";

/** The metadata every resource of one gateway deployment shares. */
interface Metadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

/** Variables the construct wires itself from secrets and data services; not settable as plain settings. */
const MANAGED_VARIABLES = new Set([
  "DATABASE_URL",
  "REDIS_URL",
  "CHROMA_URL",
  "AI_SECRETS_ID",
  "PORT",
  "HOST",
  "DATA_DIR",
  "AI_JOBS_QUEUE",
  "AI_JOBS_POLL_QUEUES",
]);

/** Props of {@link AiGatewayService}. */
export interface AiGatewayServiceProps {
  /** The gateway image with an immutable tag, for example `ghcr.io/acme/ai-gateway:1.4.2`. */
  readonly image: string;
  /**
   * Base name of every resource (`<name>` or `<name>-<slot>`).
   * @default "ai-gateway"
   */
  readonly name?: string;
  /** @default "default" */
  readonly namespace?: string;
  /**
   * Blue-green slot this deployment serves; adds the slot label and suffixes names.
   * @default - no slot
   */
  readonly slot?: "blue" | "green";
  /** Container and Service port. @default 8080 */
  readonly port?: number;
  /** `ENVIRONMENT`: picks the gateway's defaults. @default "production" */
  readonly environment?: EnvironmentName;
  /** `AI_PROVIDER`. @default - the gateway's default for `environment` */
  readonly aiProvider?: ProviderName;
  /** `AI_MODEL`. @default - the gateway's default for `environment` */
  readonly aiModel?: string;
  /** `AI_FALLBACK_PROVIDERS`, `provider` or `provider/model` entries. @default - the gateway's default for `environment` */
  readonly aiFallbackProviders?: readonly string[];
  /** `AI_TIMEOUT_SECONDS`. @default - the gateway's default for `environment` */
  readonly aiTimeoutSeconds?: number;
  /** `AI_MAX_RETRIES`. @default - the gateway's default for `environment` */
  readonly aiMaxRetries?: number;
  /** `LOG_LEVEL`. @default - the gateway's default for `environment` */
  readonly logLevel?: LogLevel;
  /** `AI_CACHE_ENABLED`. @default - the gateway's default for `environment` */
  readonly cacheEnabled?: boolean;
  /** `AI_CACHE_TTL_SECONDS`. @default - the gateway's default (3600) */
  readonly cacheTtlSeconds?: number;
  /** `AI_MONITORING_ENABLED`. @default - the gateway's default for `environment` */
  readonly monitoringEnabled?: boolean;
  /** `AI_DAILY_BUDGET` in USD. @default - the gateway's default (100) */
  readonly dailyBudgetUsd?: number;
  /** `AI_BUDGET_ENFORCE`. @default - the gateway's default (false) */
  readonly budgetEnforce?: boolean;
  /**
   * More non-secret settings for the ConfigMap. Secret-looking entries (names
   * ending in KEY, TOKEN, PASSWORD, SECRET…, or values like `sk-…`) are refused:
   * pass them through `secrets`. @default {}
   */
  readonly extraSettings?: Readonly<Record<string, string>>;
  /**
   * Postgres for the ledger, in the cluster (`PgvectorDatabase`) or managed (`ExternalPostgres`);
   * `DATABASE_URL` is composed from its endpoint and Secret. @default - embedded PGlite
   */
  readonly database?: IPostgres;
  /**
   * Redis for cache, limits and jobs (`RedisCache` or `ExternalRedis`); `REDIS_URL` is composed
   * from its endpoint and Secret. @default - in-process equivalents
   */
  readonly cache?: IRedis;
  /**
   * The response cache's own Redis (`REDIS_CACHE_URL`), best an `allkeys-lru` instance, so a
   * full cache never blocks the queue, budgets and rate limits on `cache` (a `noeviction` one).
   * `RedisCache` or `ExternalRedis`. @default - the response cache shares `cache`
   */
  readonly responseCache?: IRedis;
  /** Chroma, checked by health (`CHROMA_URL`, `CHROMA_TOKEN`): `ChromaStore` or `ExternalChroma`. @default - not used */
  readonly vectorStore?: IVectorStore;
  /** Provider and client keys. @default - none: only keyless providers work */
  readonly secrets?: AppSecrets;
  /** Let an HPA own the replica count. @default true */
  readonly autoscalingEnabled?: boolean;
  /** HPA floor. @default 2 */
  readonly minReplicas?: number;
  /** HPA ceiling. @default 10 */
  readonly maxReplicas?: number;
  /** Fixed replicas when autoscaling is off (0 parks the deployment). @default - minReplicas */
  readonly replicas?: number;
  /** HPA target average CPU, percent of the request. @default 70 */
  readonly targetCpuPercent?: number;
  /** HPA target average memory, percent of the request. @default 80 */
  readonly targetMemoryPercent?: number;
  /** @default "500m" (the guide) */
  readonly cpuRequest?: string;
  /** @default "512Mi" (the guide) */
  readonly memoryRequest?: string;
  /** @default "2000m" (the guide) */
  readonly cpuLimit?: string;
  /** @default "2Gi" (the guide) */
  readonly memoryLimit?: string;
  /**
   * `SHUTDOWN_TIMEOUT_SECONDS`, the gateway's one shutdown deadline; the pod's
   * `terminationGracePeriodSeconds` adds the preStop sleep and a margin. Must cover the longest
   * request (see `shutdownBudget`).
   * @default - HTTP drain (the longest request: per-attempt timeout × attempts plus backoffs, for
   * the primary and each fallback) + job queue close + ledger flush, from this gateway's settings
   */
  readonly shutdownTimeoutSeconds?: number;
  /** Extra egress TCP ports to anywhere besides DNS, the data services and 443 (e.g. 11434 for Ollama). @default [] */
  readonly egressExtraPorts?: readonly number[];
  /**
   * Namespaces whose pods may reach the gateway's port (an ingress controller's).
   * @default ["ingress-nginx"]
   */
  readonly ingressFromNamespaces?: readonly string[];
  /** Labels of pods in the gateway's namespace that may reach it too. @default - none */
  readonly ingressFromPodLabels?: Readonly<Record<string, string>>;
  /**
   * Namespaces that scrape `/metrics` (it shows spend): admitted to the port as well; expose
   * only `/v1` and `/health` through the ingress (GatewayIngress does). @default ["monitoring"]
   */
  readonly metricsFromNamespaces?: readonly string[];
  /**
   * Private CIDRs the gateway may reach on 443 and `egressExtraPorts` (a VPC endpoint, a proxy);
   * every other private, shared and link-local range is excluded. @default []
   */
  readonly egressAllowedCidrs?: readonly string[];
  /** Secrets to pull the image with (a private registry). @default [] */
  readonly imagePullSecrets?: readonly string[];
}

/** The gateway: ServiceAccount, ConfigMap, Deployment, HPA, PDB, NetworkPolicy and Service, secure by default. */
export class AiGatewayService extends Construct {
  public readonly name: string;
  /** Name of this deployment's resources (`<name>` or `<name>-<slot>`). */
  public readonly resourceName: string;
  public readonly namespace: string;
  public readonly image: string;
  public readonly slot: "blue" | "green" | undefined;
  public readonly port: number;
  public readonly portName = "http";
  public readonly autoscalingEnabled: boolean;
  public readonly minReplicas: number;
  public readonly maxReplicas: number;
  public readonly replicas: number | undefined;
  public readonly targetCpuPercent: number;
  public readonly targetMemoryPercent: number;
  public readonly cpuRequest: string;
  public readonly memoryRequest: string;
  public readonly cpuLimit: string;
  public readonly memoryLimit: string;
  public readonly memoryLimitBytes: number;
  public readonly shutdownTimeoutSeconds: number;
  /** The shutdown budget step by step; `terminationGracePeriodSeconds` is its total. */
  public readonly shutdownBudget: ShutdownBudget;
  /** Non-secret settings written to the ConfigMap. */
  public readonly settings: Readonly<Record<string, string>>;
  /** Labels selecting this deployment's pods. */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** Every label on the pods (selector, access labels for the data services). */
  public readonly podLabels: Readonly<Record<string, string>>;
  public readonly serviceName: string;
  public readonly deployment: DeploymentV1;

  constructor(scope: Construct, id: string, props: AiGatewayServiceProps) {
    super(scope, id);
    applyKitDefaults(this);
    const where = `AiGatewayService (${this.node.path})`;
    // TypeScript requires image; JavaScript callers get this instead of a TypeError.
    if (typeof props?.image !== "string" || props.image.trim() === "") {
      throw new Error(
        `${where}: image is required (received ${JSON.stringify(props?.image)}); pass the gateway image with an immutable tag, e.g. image: "ghcr.io/acme/ai-gateway:1.4.2"`,
      );
    }
    this.name = props.name ?? "ai-gateway";
    this.slot = props.slot;
    this.resourceName = this.slot ? `${this.name}-${this.slot}` : this.name;
    this.namespace = props.namespace ?? "default";
    this.image = props.image;
    this.port = props.port ?? 8080;
    this.autoscalingEnabled = props.autoscalingEnabled ?? true;
    this.minReplicas = props.minReplicas ?? 2;
    this.maxReplicas = props.maxReplicas ?? 10;
    this.replicas = this.autoscalingEnabled ? undefined : (props.replicas ?? this.minReplicas);
    this.targetCpuPercent = props.targetCpuPercent ?? 70;
    this.targetMemoryPercent = props.targetMemoryPercent ?? 80;
    this.cpuRequest = props.cpuRequest ?? "500m";
    this.memoryRequest = props.memoryRequest ?? "512Mi";
    this.cpuLimit = props.cpuLimit ?? "2000m";
    this.memoryLimit = props.memoryLimit ?? "2Gi";
    const defaults =
      ENVIRONMENT_DEFAULTS[props.environment ?? "production"] ?? ENVIRONMENT_DEFAULTS.production;
    this.shutdownBudget = shutdownBudget(
      {
        timeoutSeconds: props.aiTimeoutSeconds ?? defaults.timeoutSeconds,
        maxRetries: props.aiMaxRetries ?? defaults.maxRetries,
        fallbackCount: (props.aiFallbackProviders ?? defaults.fallbacks).length,
      },
      props.shutdownTimeoutSeconds,
    );
    this.shutdownTimeoutSeconds = this.shutdownBudget.shutdownTimeoutSeconds;

    this.checkPod(where);
    this.memoryLimitBytes = memoryBytes(this.memoryLimit);
    this.checkScaling(props);
    this.checkNetwork(props);
    this.checkShutdown();
    this.checkWiring(props);
    this.settings = this.settingsFor(props);
    this.requireSecretKeys(props, where);

    const slotLabel: Record<string, string> = this.slot ? { [SLOT_LABEL]: this.slot } : {};
    this.selectorLabels = {
      "app.kubernetes.io/name": "ai-gateway",
      "app.kubernetes.io/instance": this.name,
      ...slotLabel,
    };
    this.podLabels = {
      ...componentLabels(this.name, "ai-gateway"),
      ...slotLabel,
      ...props.database?.clientPodLabels,
      ...props.cache?.clientPodLabels,
      ...props.responseCache?.clientPodLabels,
      ...props.vectorStore?.clientPodLabels,
    };
    const metadata: Metadata = {
      name: this.resourceName,
      namespace: this.namespace,
      labels: { ...componentLabels(this.name, "ai-gateway"), ...slotLabel },
    };
    this.serviceName = this.resourceName;

    const serviceAccount = new ServiceAccountV1(this, "ServiceAccount", {
      metadata: { ...metadata, annotations: { ...props.secrets?.serviceAccountAnnotations } },
      automountServiceAccountToken: false,
    });
    const config = new ConfigMapV1(this, "Config", {
      metadata: { ...metadata, name: `${this.resourceName}-config` },
      data: this.settings,
    });
    this.deployment = this.addDeployment(metadata, props, serviceAccount.metadata.name, config.metadata.name);
    if (this.autoscalingEnabled) this.addAutoscaler(metadata);
    new PodDisruptionBudgetV1(this, "DisruptionBudget", {
      metadata,
      spec: { maxUnavailable: "1", selector: { matchLabels: this.selectorLabels } },
    });
    this.addNetworkPolicy(metadata, props);
    this.addService(metadata);
  }

  /** Name, namespace, image and resources; a second gateway of the same name is found at synth. */
  private checkPod(where: string): void {
    checkName(OWNER, "name", this.resourceName);
    checkNamespace(where, this.namespace);
    // Another gateway of the same name may be added after this one: checked at synth.
    this.node.addValidation({ validate: () => this.duplicates(where) });
    checkImage(OWNER, "image", this.image);
    checkResources(OWNER, this.cpuRequest, this.memoryRequest, this.cpuLimit, this.memoryLimit);
  }

  /** Port, replica bounds and HPA targets. */
  private checkScaling(props: AiGatewayServiceProps): void {
    checkInteger(OWNER, "port", this.port, 1, "use a port from 1 to 65535, for example 8080");
    if (this.port > 65535)
      throw new Error(`${OWNER}: port (${this.port}) must be at most 65535; use for example 8080`);
    checkInteger(OWNER, "minReplicas", this.minReplicas, 1, "an HPA needs at least one replica");
    checkInteger(OWNER, "maxReplicas", this.maxReplicas, 1, "an HPA needs at least one replica");
    if (this.minReplicas > this.maxReplicas) {
      throw new Error(
        `${OWNER}: minReplicas (${this.minReplicas}) must not exceed maxReplicas (${this.maxReplicas})`,
      );
    }
    if (props.replicas !== undefined && this.autoscalingEnabled) {
      throw new Error(
        `${OWNER}: replicas (${props.replicas}) is set while autoscalingEnabled is true; the HPA owns the count, so set minReplicas/maxReplicas or autoscalingEnabled: false`,
      );
    }
    if (this.replicas !== undefined)
      checkInteger(OWNER, "replicas", this.replicas, 0, "use 0 to park the deployment");
    checkInteger(OWNER, "targetCpuPercent", this.targetCpuPercent, 1, "use for example 70");
    checkInteger(OWNER, "targetMemoryPercent", this.targetMemoryPercent, 1, "use for example 80");
  }

  /** Egress CIDRs and extra ports. */
  private checkNetwork(props: AiGatewayServiceProps): void {
    checkCidrs(OWNER, "egressAllowedCidrs", props.egressAllowedCidrs ?? []);
    for (const port of props.egressExtraPorts ?? []) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(
          `${OWNER}: egressExtraPorts contains ${port}; each must be a TCP port from 1 to 65535, for example 11434 for Ollama`,
        );
      }
    }
  }

  /** The shutdown deadline must let the longest request finish (app/shutdown-budget.ts). */
  private checkShutdown(): void {
    const budget = this.shutdownBudget;
    checkInteger(OWNER, "shutdownTimeoutSeconds", this.shutdownTimeoutSeconds, 0, "use for example 25");
    if (budget.httpDrainSeconds < budget.longestRequestSeconds) {
      const needed = budget.longestRequestSeconds + budget.queueCloseSeconds + budget.ledgerFlushSeconds;
      throw new Error(
        `${OWNER}: shutdownTimeoutSeconds (${this.shutdownTimeoutSeconds}) leaves ${budget.httpDrainSeconds} s to drain requests, but the longest request takes ${budget.longestRequestSeconds} s (timeout × attempts plus backoffs, per target); use at least ${needed}, leave it unset to derive it, or lower aiTimeoutSeconds / aiMaxRetries`,
      );
    }
  }

  /** Plain settings stay plain, and every Secret the pods read sits in their namespace. */
  private checkWiring(props: AiGatewayServiceProps): void {
    for (const key of Object.keys(props.extraSettings ?? {})) {
      if (MANAGED_VARIABLES.has(key)) {
        throw new Error(
          `${OWNER}: extraSettings.${key} is wired by the construct; pass database, cache, vectorStore or secrets instead`,
        );
      }
    }
    checkPlainSettings(
      OWNER,
      "extraSettings",
      props.extraSettings ?? {},
      "pass it through secrets (AppSecrets) instead",
    );
    if (props.secrets?.secretName && props.secrets.namespace !== this.namespace) {
      throw new Error(
        `${OWNER}: secrets namespace ("${props.secrets.namespace}") differs from namespace ("${this.namespace}"); pods can only read Secrets in their own namespace`,
      );
    }
    for (const service of dataServices(props)) {
      if (service.namespace !== this.namespace) {
        throw new Error(
          `${OWNER}: ${service.node.id} is in namespace "${service.namespace}" but the gateway in "${this.namespace}"; its Secret must be readable by the gateway, so put both in one namespace`,
        );
      }
    }
  }

  /** The ConfigMap: the gateway's non-secret settings, each set only when its prop is. */
  private settingsFor(props: AiGatewayServiceProps): Record<string, string> {
    const optional = (variable: string, value: string | number | boolean | readonly string[] | undefined) =>
      value === undefined ? {} : { [variable]: Array.isArray(value) ? value.join(",") : String(value) };
    return {
      ENVIRONMENT: props.environment ?? "production",
      PORT: String(this.port),
      HOST: "0.0.0.0",
      DATA_DIR: "/var/lib/ai-gateway",
      SHUTDOWN_TIMEOUT_SECONDS: String(this.shutdownTimeoutSeconds),
      ...optional("AI_PROVIDER", props.aiProvider),
      ...optional("AI_MODEL", props.aiModel),
      ...optional("AI_FALLBACK_PROVIDERS", props.aiFallbackProviders),
      ...optional("AI_TIMEOUT_SECONDS", props.aiTimeoutSeconds),
      ...optional("AI_MAX_RETRIES", props.aiMaxRetries),
      ...optional("LOG_LEVEL", props.logLevel),
      ...optional("AI_CACHE_ENABLED", props.cacheEnabled),
      ...optional("AI_CACHE_TTL_SECONDS", props.cacheTtlSeconds),
      ...optional("AI_MONITORING_ENABLED", props.monitoringEnabled),
      ...optional("AI_DAILY_BUDGET", props.dailyBudgetUsd),
      ...optional("AI_BUDGET_ENFORCE", props.budgetEnforce),
      ...optional("CHROMA_URL", props.vectorStore?.url),
      ...optional("AI_SECRETS_ID", props.secrets?.secretsId),
      // Each slot works only on its own queue (the idle slot never runs a job the live one
      // accepted) and polls the other's, so a job stays pollable through either Service.
      ...optional("AI_JOBS_QUEUE", this.slot && `${this.name}-jobs-${this.slot}`),
      ...optional(
        "AI_JOBS_POLL_QUEUES",
        this.slot && `${this.name}-jobs-${this.slot === "blue" ? "green" : "blue"}`,
      ),
      ...props.extraSettings,
    };
  }

  /**
   * Fail at synth what the pod would fail at start: the gateway's own loader checks the
   * settings, and the keys they route to become required by the plan.
   */
  private requireSecretKeys(props: AiGatewayServiceProps, where: string): void {
    const gatewayConfig = checkGatewaySettings(where, this.settings);
    const needed = requiredSecretKeys(gatewayConfig, props.secrets?.keys ?? []);
    if (needed.length > 0 && !props.secrets) {
      throw new Error(
        `${where}: in ${gatewayConfig.environment} the gateway needs ${needed.join(", ")} and does not start without them; pass secrets: new AppSecrets(scope, "Secrets", { namespace: "${this.namespace}" }) (or another SecretSource)`,
      );
    }
    if (props.secrets) props.secrets.requireKeys(needed, where);
  }

  /** The Deployment: rolling updates that never drop below the wanted count; the HPA owns the count when on. */
  private addDeployment(
    metadata: Metadata,
    props: AiGatewayServiceProps,
    serviceAccountName: string,
    configMapName: string,
  ): DeploymentV1 {
    return new DeploymentV1(this, "Resource", {
      metadata,
      // The default wait_for_rollout stays on: a release whose pods never get ready fails the deploy.
      ...(this.autoscalingEnabled ? { lifecycle: { ignoreChanges: ["spec[0].replicas"] } } : {}),
      spec: {
        ...(this.replicas === undefined ? {} : { replicas: String(this.replicas) }),
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.selectorLabels },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "0" } },
        template: this.podTemplate(props, serviceAccountName, configMapName),
      },
    });
  }

  /** The pod: non-root, no token, spread over zones and nodes, with the shutdown budget as its grace period. */
  private podTemplate(
    props: AiGatewayServiceProps,
    serviceAccountName: string,
    configMapName: string,
  ): DeploymentV1SpecTemplate {
    const spread = (topologyKey: string) => ({
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: [{ matchLabels: this.selectorLabels }],
    });
    return {
      metadata: {
        labels: this.podLabels,
        // A settings change rolls the pods; the ConfigMap alone would not. So does a rotated key
        // from Terraform variables: the hash of the Secret's contents (never the values) changes.
        annotations: {
          "ai-deploy-kit.io/config-hash": hash(JSON.stringify(this.settings)),
          ...secretsHashAnnotation(props.secrets),
        },
      },
      spec: {
        serviceAccountName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        // preStop + HTTP drain + queue close + ledger flush + margin (app/shutdown-budget.ts).
        terminationGracePeriodSeconds: this.shutdownBudget.terminationGracePeriodSeconds,
        securityContext: podSecurityContext(10001),
        ...(props.imagePullSecrets?.length
          ? { imagePullSecrets: props.imagePullSecrets.map((name) => ({ name })) }
          : {}),
        topologySpreadConstraint: [spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname")],
        container: [this.gatewayContainer(props, configMapName)],
        volume: [scratchVolume("tmp"), scratchVolume("data", "1Gi")],
      },
    };
  }

  /** The gateway container: settings from the ConfigMap, keys from the Secret, data-service credentials as env. */
  private gatewayContainer(
    props: AiGatewayServiceProps,
    configMapName: string,
  ): DeploymentV1SpecTemplateSpecContainer {
    return {
      name: "gateway",
      image: this.image,
      imagePullPolicy: "IfNotPresent",
      port: [{ name: this.portName, containerPort: this.port, protocol: "TCP" }],
      envFrom: [
        { configMapRef: { name: configMapName } },
        ...(props.secrets?.secretName ? [{ secretRef: { name: props.secrets.secretName } }] : []),
      ],
      env: dataServiceEnv(props),
      resources: resources(this.cpuRequest, this.memoryRequest, this.cpuLimit, this.memoryLimit),
      securityContext: containerSecurityContext(10001),
      ...this.probes(),
      // Endpoints controllers need a moment to stop routing here before SIGTERM.
      lifecycle: { preStop: [{ exec: { command: ["sleep", String(PRESTOP_SECONDS)] } }] },
      volumeMount: [
        { name: "tmp", mountPath: "/tmp" },
        { name: "data", mountPath: "/var/lib/ai-gateway" },
      ],
    };
  }

  /** Startup and liveness on `/health/live` (the process answers), readiness on `/health/ready` (it can serve). */
  private probes(): Pick<
    DeploymentV1SpecTemplateSpecContainer,
    "startupProbe" | "livenessProbe" | "readinessProbe"
  > {
    const http = (path: string) => ({ httpGet: { path, port: this.portName } });
    return {
      startupProbe: { ...http("/health/live"), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
      livenessProbe: { ...http("/health/live"), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
      readinessProbe: { ...http("/health/ready"), periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
    };
  }

  /** The HPA: CPU and memory targets, quick to scale up, slow to scale down. */
  private addAutoscaler(metadata: Metadata): void {
    const target = (name: string, averageUtilization: number) => ({
      type: "Resource",
      resource: { name, target: { type: "Utilization", averageUtilization } },
    });
    const behaviour = (stabilizationWindowSeconds: number, value: number, periodSeconds: number) => [
      {
        stabilizationWindowSeconds,
        selectPolicy: "Max",
        policy: [{ type: "Percent", value, periodSeconds }],
      },
    ];
    new HorizontalPodAutoscalerV2(this, "Autoscaler", {
      metadata,
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.resourceName },
        minReplicas: this.minReplicas,
        maxReplicas: this.maxReplicas,
        metric: [target("cpu", this.targetCpuPercent), target("memory", this.targetMemoryPercent)],
        behavior: { scaleDown: behaviour(300, 50, 60), scaleUp: behaviour(0, 100, 30) },
      },
    });
  }

  /** Ingress from the ingress controller and the scrapers only; egress to DNS, the data services and 443. */
  private addNetworkPolicy(metadata: Metadata, props: AiGatewayServiceProps): void {
    new NetworkPolicyV1(this, "NetworkPolicy", {
      metadata,
      spec: {
        podSelector: { matchLabels: this.selectorLabels },
        policyTypes: ["Ingress", "Egress"],
        ingress: gatewayIngress({
          port: this.port,
          fromNamespaces: props.ingressFromNamespaces ?? ["ingress-nginx"],
          fromPodLabels: props.ingressFromPodLabels,
          metricsFromNamespaces: props.metricsFromNamespaces ?? ["monitoring"],
        }),
        egress: gatewayEgress(props),
      },
    });
  }

  /** The ClusterIP Service, labelled for the ServiceMonitor (METRICS_LABEL). */
  private addService(metadata: Metadata): void {
    new ServiceV1(this, "Service", {
      metadata: { ...metadata, labels: { ...metadata.labels, [METRICS_LABEL]: this.name } },
      spec: {
        type: "ClusterIP",
        selector: this.selectorLabels,
        port: [{ name: this.portName, port: this.port, targetPort: this.portName, protocol: "TCP" }],
      },
    });
  }

  /** Two gateways with one name in one namespace would share every resource name: refuse. */
  private duplicates(where: string): string[] {
    return TerraformStack.of(this)
      .node.findAll()
      .filter(
        (other): other is AiGatewayService =>
          other !== this &&
          other instanceof AiGatewayService &&
          other.namespace === this.namespace &&
          other.name === this.name &&
          // The two slots of one BlueGreenGateway share the base name on purpose.
          !(other.node.scope === this.node.scope && other.slot !== this.slot),
      )
      .map(
        (other) =>
          `${where}: a gateway named "${this.name}" already exists in namespace "${this.namespace}" (${other.node.path}); give one of them another name`,
      );
  }
}

/** The data services a gateway is given, in the order their env and egress rules are written. */
function dataServices(props: AiGatewayServiceProps): (IPostgres | IRedis | IVectorStore)[] {
  return [props.database, props.cache, props.responseCache, props.vectorStore].filter(
    (service) => service !== undefined,
  );
}

/**
 * The data services' credentials as container env. Passwords never enter synthesized output: the
 * Postgres password reaches the client as PGPASSWORD (node-postgres reads it when DATABASE_URL has
 * none), so any character is safe. REDIS_URL embeds the password through the kubelet's $(VAR)
 * expansion, unescaped: a Redis password must be URL-safe (the kit's own variables validate that;
 * an existing Secret must hold letters, digits, . _ ~ -).
 */
function dataServiceEnv(props: AiGatewayServiceProps): DeploymentV1SpecTemplateSpecContainerEnv[] {
  const env: DeploymentV1SpecTemplateSpecContainerEnv[] = [];
  if (props.database) {
    const db = props.database;
    env.push(
      {
        name: "PGPASSWORD",
        valueFrom: { secretKeyRef: { name: db.secretName, key: db.passwordKey } },
      },
      {
        name: "DATABASE_URL",
        value: `postgres://${db.username}@${db.host}:${db.port}/${db.databaseName}${db.sslMode ? `?sslmode=${db.sslMode}` : ""}`,
      },
    );
  }
  if (props.cache) env.push(...redisEnv("REDIS", props.cache));
  if (props.responseCache) env.push(...redisEnv("REDIS_CACHE", props.responseCache));
  if (props.vectorStore) {
    const chroma = props.vectorStore;
    env.push({
      name: "CHROMA_TOKEN",
      valueFrom: { secretKeyRef: { name: chroma.secretName, key: chroma.tokenKey } },
    });
  }
  return env;
}

/**
 * Egress: DNS, each data service on its port, 443 (and `egressExtraPorts`) to public addresses and
 * `egressAllowedCidrs`, and the AWS credential endpoints when secrets come from Secrets Manager.
 */
function gatewayEgress(props: AiGatewayServiceProps): NetworkPolicyV1SpecEgress[] {
  return [
    {
      ports: [
        { port: "53", protocol: "UDP" },
        { port: "53", protocol: "TCP" },
      ],
    },
    ...dataServices(props).map((service) => ({
      to: service.egressPeers.map((peer) => ({ ...peer })),
      ports: [{ port: String(service.port), protocol: "TCP" }],
    })),
    {
      to: publicEgressTo(props.egressAllowedCidrs ?? []),
      ports: [443, ...(props.egressExtraPorts ?? [])].map((port) => ({
        port: String(port),
        protocol: "TCP",
      })),
    },
    // Without roleArn the AWS SDK gets credentials from EKS Pod Identity or the
    // instance metadata service, both plain HTTP on link-local addresses.
    ...(props.secrets?.source.kind === "aws-secrets-manager"
      ? [
          {
            to: [{ ipBlock: { cidr: "169.254.170.23/32" } }, { ipBlock: { cidr: "169.254.169.254/32" } }],
            ports: [{ port: "80", protocol: "TCP" }],
          },
        ]
      : []),
  ];
}

/**
 * `ai-deploy-kit.io/secrets-hash`: SHA-256 of the Terraform-variable Secret's contents, computed by
 * Terraform at plan time (the values stay sensitive variables; only the digest is shown), so a
 * rotated key rolls the pods. Other sources have none: AWS Secrets Manager reaches running pods
 * through the gateway's refresh, and an existing Secret needs a `kubectl rollout restart`.
 */
function secretsHashAnnotation(secrets: AppSecrets | undefined): Record<string, string> {
  const variables = Object.entries(secrets?.variables ?? {});
  if (variables.length === 0) return {};
  const contents = Object.fromEntries(variables.map(([key, variable]) => [key, variable.stringValue]));
  return { "ai-deploy-kit.io/secrets-hash": Fn.nonsensitive(Fn.sha256(Fn.jsonencode(contents))) };
}

/**
 * `<prefix>_PASSWORD` from the Redis' Secret and `<prefix>_URL` composed from it (Kubernetes expands
 * `$(VAR)`), so the password never sits in the ConfigMap or the pod spec.
 */
function redisEnv(
  prefix: "REDIS" | "REDIS_CACHE",
  redis: IRedis,
): DeploymentV1SpecTemplateSpecContainerEnv[] {
  return [
    {
      name: `${prefix}_PASSWORD`,
      valueFrom: { secretKeyRef: { name: redis.secretName, key: redis.passwordKey } },
    },
    {
      name: `${prefix}_URL`,
      value: `${redis.tls ? "rediss" : "redis"}://:$(${prefix}_PASSWORD)@${redis.host}:${redis.port}`,
    },
  ];
}

/** A short stable hash (FNV-1a) for the config annotation. */
function hash(text: string): string {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value.toString(16).padStart(8, "0");
}
