import {
  ENVIRONMENT_DEFAULTS,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  type GatewayDefaults,
} from "../app/config/defaults";
import type { SlotOverrides, SlotReplicas } from "../constructs/kubernetes/blue-green-gateway";
import type { ConfiguredStateBackend } from "./state-backend";

/** CPU and memory in Kubernetes quantities. */
export interface ResourceQuantities {
  readonly cpu: string;
  readonly memory: string;
}

/** Where the stack deploys and how the gateway runs there. */
export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  /** `docker` for the local machine, `kubernetes` for clusters (docs/design.md section 2). */
  readonly platform: "docker" | "kubernetes";
  /** The gateway's behaviour: provider, model, fallbacks, timeouts, retries, log level, caching, monitoring. */
  readonly gateway: GatewayDefaults & { readonly budgetEnforce: boolean };
  /** Kubernetes namespace the stack's resources live in. */
  readonly namespace: string;
  /** The gateway container image, repository without tag. */
  readonly imageRepository: string;
  /** Tag of the development image built locally from the working tree (Kubernetes uses the slot tags). */
  readonly imageTag: string;
  /** Replicas when autoscaling is off; the floor when it is on. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** HPA target average CPU utilisation, percent of requests. */
  readonly targetCpuPercent: number;
  readonly requests: ResourceQuantities;
  readonly limits: ResourceQuantities;
  /** Blue-green slot that receives production traffic (`npm run promote` rewrites this line). */
  readonly activeSlot: "blue" | "green";
  /** Tag the blue slot runs; changed only by reviewed commits (`npm run release` rewrites the idle slot's line). */
  readonly blueImageTag: string;
  /** Tag the green slot runs; changed only by reviewed commits (`npm run release` rewrites the idle slot's line). */
  readonly greenImageTag: string;
  /**
   * Size of each slot whatever its role: `"autoscale"` (HPA, minReplicas..maxReplicas) or a fixed
   * count (0 parks it). Sized by colour, a promotion is only the Services' selector switch: scale
   * the target slot up in one change, promote in the next. A parked slot goes to a fixed count of
   * at least minReplicas first, never straight to "autoscale" (an HPA never scales up from 0).
   */
  readonly blueReplicas: SlotReplicas;
  readonly greenReplicas: SlotReplicas;
  /**
   * HPA bounds of an autoscaled slot while it is idle (the preview slot). Both slots autoscale and
   * the bounds follow the role, so a promotion needs no second change to let the live slot scale.
   */
  readonly idleMinReplicas: number;
  readonly idleMaxReplicas: number;
  /**
   * Settings and resources only one slot runs with (`aiModel`, `extraSettings`, `cpuRequest`, …),
   * over `gateway` and the sizes above. A change here rolls only that slot: put a settings change
   * on the idle slot, verify it on the preview Service, then promote it like a release.
   */
  readonly blueOverrides?: SlotOverrides;
  readonly greenOverrides?: SlotOverrides;
  /**
   * Create the ServiceMonitor and PrometheusRule. They are `kubernetes_manifest`
   * resources: plan and deploy need a reachable cluster with the Prometheus
   * Operator CRDs installed (set false where the operator is absent).
   */
  readonly prometheusOperatorEnabled: boolean;
  /**
   * Labels on the ServiceMonitor and PrometheusRule that the Prometheus Operator
   * selects on; kube-prometheus-stack picks up only `release: <its Helm release>` by default.
   */
  readonly prometheusSelectorLabels: Readonly<Record<string, string>>;
  /** Storage for the data services, in GiB. */
  readonly postgresStorageGiB: number;
  readonly redisStorageGiB: number;
  readonly chromaStorageGiB: number;
  /**
   * Data services run as managed services instead of in the cluster, each on its own: an entry
   * replaces the kit's StatefulSet with ExternalPostgres / ExternalRedis / ExternalChroma.
   * @default - all three in the cluster
   */
  readonly managedDataServices?: ManagedDataServices;
  /**
   * Refuse to deploy with local Terraform state (`npm run preflight`, the deploy workflow);
   * `npm run synth` still works offline. @default false
   */
  readonly requireRemoteState?: boolean;
  /**
   * The stack's state backend when `TF_BACKEND` is not set (any cdktf backend).
   * @default - TF_BACKEND's choice, else a local state file
   */
  readonly stateBackend?: ConfiguredStateBackend;
  /**
   * `lifecycle.prevent_destroy` on the namespace, StatefulSets, PVCs and Secrets (DestroyProtection).
   * Lift it with a reviewed change to false, or `AI_ALLOW_DESTROY=<stack>` for one run (docs/operations.md "Destroy protection and how to lift it"). @default false
   */
  readonly protectFromDestroy?: boolean;
  /**
   * Storage class of the data services' volumes; choose one with `allowVolumeExpansion: true`
   * so volumes can grow (docs/operations.md "Growing a volume"). @default - the cluster's default class
   */
  readonly storageClassName?: string;
  /** Namespaces whose pods may reach the gateway (the ingress controller's). @default ["ingress-nginx"] */
  readonly gatewayIngressFromNamespaces?: readonly string[];
  /** Namespaces that scrape the gateway's /metrics (Prometheus'). @default ["monitoring"] */
  readonly metricsFromNamespaces?: readonly string[];
  /** Secrets the gateway's pods pull their image with (a private registry). @default [] */
  readonly imagePullSecrets?: readonly string[];
}

/** A managed endpoint: where it is, the ranges it lives in, and the Secret with its credentials. */
export interface ManagedEndpoint {
  readonly host: string;
  /** @default - the service's usual port (5432, 6379, 443) */
  readonly port?: number;
  /** Address ranges the gateway may reach it in (its NetworkPolicy egress). */
  readonly egressCidrs: readonly string[];
  /** A Kubernetes Secret you manage with the credentials. @default - a Secret from a required Terraform variable */
  readonly existingSecret?: string;
}

/** Which data services are managed (RDS, Cloud SQL, ElastiCache, Memorystore…) rather than in the cluster. */
export interface ManagedDataServices {
  readonly postgres?: ManagedEndpoint & { readonly databaseName: string; readonly username: string };
  readonly redis?: ManagedEndpoint;
  /** The response cache's own Redis (best with `allkeys-lru`). @default - an in-cluster `allkeys-lru` Redis */
  readonly responseCache?: ManagedEndpoint;
  readonly chroma?: ManagedEndpoint;
}

/**
 * Production with managed Postgres and Redis (Chroma stays in the cluster): set
 * `managedDataServices: PRODUCTION_MANAGED_DATA_SERVICES` (with your endpoints) in
 * production below to switch. `npm run validate` and the tests check this variant too.
 */
export const PRODUCTION_MANAGED_DATA_SERVICES: ManagedDataServices = {
  postgres: {
    host: "ai-gateway.cluster-abc123.eu-west-1.rds.amazonaws.com",
    databaseName: "ai_gateway",
    username: "ai_gateway",
    egressCidrs: ["10.0.0.0/16"],
  },
  redis: {
    host: "master.ai-gateway.abc123.euw1.cache.amazonaws.com",
    egressCidrs: ["10.0.0.0/16"],
    existingSecret: "ai-redis-auth",
  },
  // The response cache on its own managed instance, configured with maxmemory-policy allkeys-lru.
  responseCache: {
    host: "master.ai-gateway-cache.abc123.euw1.cache.amazonaws.com",
    egressCidrs: ["10.0.0.0/16"],
    existingSecret: "ai-redis-cache-auth",
  },
};

const GUIDE_REQUESTS: ResourceQuantities = { cpu: "500m", memory: "512Mi" };
const GUIDE_LIMITS: ResourceQuantities = { cpu: "2000m", memory: "2Gi" };

/** The three environments of docs/design.md section 4, with the guide's values. */
export const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  development: {
    name: "development",
    platform: "docker",
    gateway: { ...ENVIRONMENT_DEFAULTS.development, budgetEnforce: false },
    namespace: "ai-dev",
    imageRepository: "ai-deploy-kit/gateway",
    imageTag: "dev",
    minReplicas: 1,
    maxReplicas: 1,
    targetCpuPercent: 70,
    requests: { cpu: "250m", memory: "256Mi" },
    limits: { cpu: "1000m", memory: "1Gi" },
    activeSlot: "blue",
    blueImageTag: "dev",
    greenImageTag: "dev",
    blueReplicas: "autoscale",
    greenReplicas: 0,
    idleMinReplicas: 1,
    idleMaxReplicas: 1,
    prometheusOperatorEnabled: false,
    prometheusSelectorLabels: {},
    postgresStorageGiB: 5,
    redisStorageGiB: 1,
    chromaStorageGiB: 5,
  },
  staging: {
    name: "staging",
    platform: "kubernetes",
    gateway: { ...ENVIRONMENT_DEFAULTS.staging, budgetEnforce: false },
    namespace: "ai-staging",
    imageRepository: "ghcr.io/example/ai-gateway",
    imageTag: "0.1.0",
    minReplicas: 2,
    maxReplicas: 4,
    targetCpuPercent: 70,
    requests: GUIDE_REQUESTS,
    limits: GUIDE_LIMITS,
    activeSlot: "blue",
    blueImageTag: "0.1.0",
    greenImageTag: "0.1.0",
    // Both slots autoscale; the idle one between idleMinReplicas and idleMaxReplicas. The preview
    // slot runs the live floor: a release is verified on the preview Service as soon as it is
    // deployed, and promotion hands the live Service a slot already at minReplicas.
    blueReplicas: "autoscale",
    greenReplicas: "autoscale",
    idleMinReplicas: 2,
    idleMaxReplicas: 3,
    prometheusOperatorEnabled: true,
    // The Helm release name of kube-prometheus-stack in the cluster.
    prometheusSelectorLabels: { release: "kube-prometheus-stack" },
    postgresStorageGiB: 20,
    redisStorageGiB: 5,
    chromaStorageGiB: 20,
    requireRemoteState: true,
    protectFromDestroy: true,
  },
  production: {
    name: "production",
    platform: "kubernetes",
    gateway: { ...ENVIRONMENT_DEFAULTS.production, budgetEnforce: true },
    namespace: "ai-production",
    imageRepository: "ghcr.io/example/ai-gateway",
    imageTag: "0.1.0",
    // The guide runs three replicas; the HPA keeps that as its floor.
    minReplicas: 3,
    maxReplicas: 10,
    targetCpuPercent: 70,
    requests: GUIDE_REQUESTS,
    limits: GUIDE_LIMITS,
    activeSlot: "blue",
    blueImageTag: "0.1.0",
    greenImageTag: "0.1.0",
    // Both slots autoscale; the idle one between idleMinReplicas and idleMaxReplicas. The preview
    // slot runs the live floor: promotion and rollback hand the live Service a slot already at
    // minReplicas (one warm pod would serve everything until it was scaled).
    blueReplicas: "autoscale",
    greenReplicas: "autoscale",
    idleMinReplicas: 3,
    idleMaxReplicas: 5,
    prometheusOperatorEnabled: true,
    // The Helm release name of kube-prometheus-stack in the cluster.
    prometheusSelectorLabels: { release: "kube-prometheus-stack" },
    postgresStorageGiB: 100,
    redisStorageGiB: 10,
    chromaStorageGiB: 50,
    // In the cluster (the default); PRODUCTION_MANAGED_DATA_SERVICES above shows the managed way.
    managedDataServices: undefined,
    requireRemoteState: true,
    protectFromDestroy: true,
  },
};

/** Looks up an environment by name; throws naming the allowed ones. */
export function environmentConfig(name: string): EnvironmentConfig {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown environment "${name}"; use one of ${ENVIRONMENT_NAMES.join(", ")}`);
  }
  return ENVIRONMENTS[name as EnvironmentName];
}
