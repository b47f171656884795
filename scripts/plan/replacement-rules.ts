import type { Json } from "./json";

/**
 * When a matching change forces replacement: `always`, only when a storage
 * quantity shrinks (`shrink`), or only when the object was or becomes
 * `immutable: true` (`immutable`).
 */
export type ReplacementCondition = "always" | "shrink" | "immutable";

/** One row of the table: attributes of a resource type whose change makes terraform destroy and create it. */
export interface ReplacementRule {
  /** Resource types, without their `_v1` / `_v2` suffix; `kubernetes_*` matches every Kubernetes type. */
  readonly types: readonly string[];
  /** Attribute path without list indices (`spec.volume_claim_template`); a change at or below it matches. `*` matches every attribute. */
  readonly attribute: string;
  /** Attributes exempt from a `*` rule (updated in place). */
  readonly except?: readonly string[];
  /** @default "always" */
  readonly when?: ReplacementCondition;
  /** What a reviewer reads next to the change. */
  readonly reason: string;
}

/**
 * The attributes that force a new resource, after the ForceNew flags and
 * CustomizeDiff functions of the hashicorp/kubernetes (2.x) and
 * kreuzwerker/docker (3.x) providers, for the resources this kit and its users
 * create. docs/operations.md ("Review a change") shows this table; extend it when a stack starts using a
 * new resource type. A change the table misses shows as an in-place change,
 * so keep it conservative: `cdktf diff` (plan.yml's terraform job) is the
 * authority when terraform and a cluster are at hand.
 */
export const REPLACEMENT_RULES: readonly ReplacementRule[] = [
  {
    types: ["kubernetes_*"],
    attribute: "metadata.name",
    reason: "Kubernetes object names are immutable",
  },
  {
    types: ["kubernetes_*"],
    attribute: "metadata.namespace",
    reason: "an object cannot move between namespaces",
  },
  {
    types: ["kubernetes_*"],
    attribute: "metadata.generate_name",
    reason: "the generated name is fixed at creation",
  },
  {
    types: ["kubernetes_manifest"],
    attribute: "manifest.metadata.name",
    reason: "Kubernetes object names are immutable",
  },
  {
    types: ["kubernetes_manifest"],
    attribute: "manifest.metadata.namespace",
    reason: "an object cannot move between namespaces",
  },
  { types: ["kubernetes_manifest"], attribute: "manifest.kind", reason: "the object's kind is fixed" },
  {
    types: ["kubernetes_manifest"],
    attribute: "manifest.apiVersion",
    reason: "the object's API version is fixed by the provider",
  },
  {
    types: ["kubernetes_service"],
    attribute: "spec.cluster_ip",
    reason: "a Service's cluster IP is immutable",
  },
  {
    types: ["kubernetes_service"],
    attribute: "spec.cluster_ips",
    reason: "a Service's cluster IPs are immutable",
  },
  {
    types: ["kubernetes_stateful_set"],
    attribute: "spec.volume_claim_template",
    reason: "a StatefulSet's volume claim templates are immutable (existing PVCs keep their old size)",
  },
  {
    types: ["kubernetes_stateful_set"],
    attribute: "spec.selector",
    reason: "a StatefulSet's selector is immutable",
  },
  {
    types: ["kubernetes_stateful_set"],
    attribute: "spec.service_name",
    reason: "a StatefulSet's governing Service is immutable",
  },
  {
    types: ["kubernetes_stateful_set"],
    attribute: "spec.pod_management_policy",
    reason: "a StatefulSet's pod management policy is immutable",
  },
  {
    types: ["kubernetes_deployment", "kubernetes_daemon_set", "kubernetes_daemonset"],
    attribute: "spec.selector",
    reason: "a workload's label selector is immutable",
  },
  { types: ["kubernetes_job"], attribute: "spec.selector", reason: "a Job's selector is immutable" },
  { types: ["kubernetes_job"], attribute: "spec.template", reason: "a Job's pod template is immutable" },
  {
    types: ["kubernetes_job"],
    attribute: "spec.completions",
    reason: "a Job's completion count is immutable",
  },
  {
    types: ["kubernetes_persistent_volume_claim"],
    attribute: "spec.resources.requests.storage",
    when: "shrink",
    reason: "a PVC can grow in place but never shrink",
  },
  ...["access_modes", "storage_class_name", "selector", "volume_name", "volume_mode"].map(
    (field): ReplacementRule => ({
      types: ["kubernetes_persistent_volume_claim"],
      attribute: `spec.${field}`,
      reason: `a bound PVC's ${field} is immutable`,
    }),
  ),
  ...["storage_provisioner", "parameters", "reclaim_policy", "volume_binding_mode"].map(
    (field): ReplacementRule => ({
      types: ["kubernetes_storage_class"],
      attribute: field,
      reason: `a StorageClass's ${field} is immutable`,
    }),
  ),
  { types: ["kubernetes_secret"], attribute: "type", reason: "a Secret's type is immutable" },
  ...["data", "binary_data", "string_data"].map(
    (field): ReplacementRule => ({
      types: ["kubernetes_secret", "kubernetes_config_map"],
      attribute: field,
      when: "immutable",
      reason: "an immutable Secret or ConfigMap can only be replaced",
    }),
  ),
  {
    types: ["kubernetes_role_binding", "kubernetes_cluster_role_binding"],
    attribute: "role_ref",
    reason: "a binding's roleRef is immutable",
  },
  {
    types: ["docker_container"],
    attribute: "*",
    except: [
      "restart",
      "memory",
      "memory_swap",
      "cpu_shares",
      "cpu_set",
      "must_run",
      "start",
      "attach",
      "logs",
      "wait",
      "wait_timeout",
      "destroy_grace_seconds",
      "remove_volumes",
      "container_read_refresh_timeout_milliseconds",
    ],
    reason: "a Docker container is recreated for any change but its restart policy and CPU/memory limits",
  },
  { types: ["docker_network"], attribute: "*", reason: "a Docker network cannot be changed in place" },
  { types: ["docker_volume"], attribute: "*", reason: "a Docker volume cannot be changed in place" },
  ...["name", "build", "triggers", "platform"].map(
    (field): ReplacementRule => ({
      types: ["docker_image"],
      attribute: field,
      reason: "the image is pulled or built anew",
    }),
  ),
];

/** Resource types whose destruction loses data or takes much else with it. */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set([
  "kubernetes_stateful_set",
  "kubernetes_persistent_volume_claim",
  "kubernetes_persistent_volume",
  "kubernetes_namespace",
  "kubernetes_storage_class",
  "kubernetes_secret",
  "docker_volume",
]);

/** `kubernetes_stateful_set_v1` → `kubernetes_stateful_set`: the table names each type once for all its versions. */
export function baseType(type: string): string {
  return type.replace(/_v\d+$/, "");
}

function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Bytes in a Kubernetes quantity (`10Gi`, `500M`, `1.5Ti`); undefined when it is not one (a token, say). */
export function parseQuantity(value: Json | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? ""]!;
}

/** What a rule needs to know about the change it judges. */
export interface ChangeContext {
  readonly type: string;
  /** Attribute path without list indices. */
  readonly keys: readonly string[];
  readonly before: Json | undefined;
  readonly after: Json | undefined;
  /** Whether the resource's `immutable` attribute was or becomes true. */
  readonly immutable: boolean;
}

/** The rule that makes this change force a replacement, if any. */
export function replacementRule(change: ChangeContext): ReplacementRule | undefined {
  const type = baseType(change.type);
  return REPLACEMENT_RULES.find((rule) => {
    if (!rule.types.some((pattern) => typeMatches(pattern, type))) return false;
    if (rule.attribute === "*") {
      return !(rule.except ?? []).some((field) => change.keys[0] === field);
    }
    if (!startsWith(change.keys, rule.attribute.split("."))) return false;
    const when = rule.when ?? "always";
    if (when === "immutable") return change.immutable;
    if (when === "shrink") {
      const before = parseQuantity(change.before);
      const after = parseQuantity(change.after);
      return before !== undefined && after !== undefined && after < before;
    }
    return true;
  });
}
