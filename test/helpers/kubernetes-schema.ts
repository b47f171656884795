// Checks synthesized kubernetes_* resources against the Kubernetes OpenAPI schemas:
// each Terraform body is converted to the object the provider sends to the API
// server, then validated twice with the kubernetes-models packages (generated from
// the Kubernetes and prometheus-operator OpenAPI specs): their ajv validators for
// types, enums, required fields and formats, and their TypeScript declarations,
// whose excess-property check rejects any field the schema does not have.
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A schema problem of one resource. */
export interface SchemaProblem {
  /** `<stack>: <terraform type>.<name>` */
  readonly address: string;
  readonly message: string;
}

interface Target {
  readonly apiVersion: string;
  readonly kind: string;
  /** Module (resolved from the project root) exporting the model class and its `I<Kind>` interface. */
  readonly module: string;
}

const CORE = "kubernetes-models";
/** Terraform resource type → the Kubernetes object it manages. */
const TARGETS: Readonly<Record<string, Target>> = {
  kubernetes_namespace_v1: { apiVersion: "v1", kind: "Namespace", module: `${CORE}/v1/Namespace` },
  kubernetes_config_map_v1: { apiVersion: "v1", kind: "ConfigMap", module: `${CORE}/v1/ConfigMap` },
  kubernetes_secret_v1: { apiVersion: "v1", kind: "Secret", module: `${CORE}/v1/Secret` },
  kubernetes_service_v1: { apiVersion: "v1", kind: "Service", module: `${CORE}/v1/Service` },
  kubernetes_service_account_v1: {
    apiVersion: "v1",
    kind: "ServiceAccount",
    module: `${CORE}/v1/ServiceAccount`,
  },
  kubernetes_deployment_v1: {
    apiVersion: "apps/v1",
    kind: "Deployment",
    module: `${CORE}/apps/v1/Deployment`,
  },
  kubernetes_stateful_set_v1: {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    module: `${CORE}/apps/v1/StatefulSet`,
  },
  kubernetes_horizontal_pod_autoscaler_v2: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    module: `${CORE}/autoscaling/v2/HorizontalPodAutoscaler`,
  },
  kubernetes_pod_disruption_budget_v1: {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    module: `${CORE}/policy/v1/PodDisruptionBudget`,
  },
  kubernetes_network_policy_v1: {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    module: `${CORE}/networking.k8s.io/v1/NetworkPolicy`,
  },
  kubernetes_job_v1: { apiVersion: "batch/v1", kind: "Job", module: `${CORE}/batch/v1/Job` },
  kubernetes_cron_job_v1: { apiVersion: "batch/v1", kind: "CronJob", module: `${CORE}/batch/v1/CronJob` },
  kubernetes_persistent_volume_claim_v1: {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    module: `${CORE}/v1/PersistentVolumeClaim`,
  },
};

/** Objects a kubernetes_manifest may hold, by `apiVersion/kind`. */
const MANIFESTS: Readonly<Record<string, string>> = {
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
  "monitoring.coreos.com/v1/PrometheusRule":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
  "monitoring.coreos.com/v1/PodMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
};

/** Terraform block names (lists) whose Kubernetes field is plural. */
const RENAMES: Readonly<Record<string, string>> = {
  container: "containers",
  init_container: "initContainers",
  port: "ports",
  volume: "volumes",
  volume_mount: "volumeMounts",
  volume_claim_template: "volumeClaimTemplates",
  toleration: "tolerations",
  topology_spread_constraint: "topologySpreadConstraints",
  metric: "metrics",
  policy: "policies",
  host_aliases: "hostAliases",
  image_pull_secrets: "imagePullSecrets",
};
/** Fields whose Kubernetes name is not the camelCase of the provider's (initialisms). */
const ACRONYMS: Readonly<Record<string, string>> = {
  cluster_ip: "clusterIP",
  cluster_ips: "clusterIPs",
  external_ips: "externalIPs",
  load_balancer_ip: "loadBalancerIP",
  pod_ip: "podIP",
  host_ip: "hostIP",
};
/** Kubernetes fields that are lists of objects (every other one-element block list is a single object). */
const ARRAYS = new Set([
  "containers",
  "initContainers",
  "ports",
  "volumes",
  "volumeMounts",
  "volumeClaimTemplates",
  "tolerations",
  "topologySpreadConstraints",
  "metrics",
  "policies",
  "hostAliases",
  "imagePullSecrets",
  "env",
  "envFrom",
  "ingress",
  "egress",
  "from",
  "to",
  "matchExpressions",
  "items",
  "nodeSelectorTerms",
]);
/** Fields whose keys are data (label names, file names, resource names), not schema fields. */
const MAPS = new Set([
  "labels",
  "annotations",
  "match_labels",
  "data",
  "string_data",
  "binary_data",
  "limits",
  "requests",
  "node_selector",
]);
/** Integer (or int-or-string) fields the provider takes as strings; digits become numbers, as it sends them. */
const INTEGERS = new Set([
  "replicas",
  "runAsUser",
  "runAsGroup",
  "fsGroup",
  "maxUnavailable",
  "maxSurge",
  "minAvailable",
  "port",
  "targetPort",
  "defaultMode",
  "mode",
]);
/** Provider-only attributes of a resource, not part of the object. */
const TERRAFORM_ONLY = new Set([
  "//",
  "depends_on",
  "lifecycle",
  "provider",
  "count",
  "for_each",
  "timeouts",
  "wait_for_rollout",
  "wait_for_load_balancer",
  "wait_for_service_account_token",
  "wait_for_completion",
  "wait_until_bound",
]);

const camel = (name: string): string =>
  ACRONYMS[name] ?? name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

function convert(value: Json, key: string | undefined, inServiceSpec: boolean): Json {
  if (Array.isArray(value)) {
    const items = value.map((item) => convert(item, undefined, false));
    const isObjects = items.length > 0 && items.every((item) => typeof item === "object" && item !== null);
    // Terraform writes every nested block as a list: a single object in Kubernetes unless the field is a list.
    if (isObjects && key !== undefined && !ARRAYS.has(key) && items.length === 1) return items[0] ?? null;
    return items;
  }
  if (value !== null && typeof value === "object") {
    const out: JsonObject = {};
    for (const [name, child] of Object.entries(value)) {
      // Only blocks (lists) are renamed: a scalar `port` (in an HTTP probe, say) stays `port`.
      const field = (Array.isArray(child) ? RENAMES[name] : undefined) ?? camel(name);
      if (MAPS.has(name) || (inServiceSpec && name === "selector")) out[field] = child;
      else out[field] = convert(child, field, false);
    }
    return out;
  }
  if (typeof value === "string" && key !== undefined && INTEGERS.has(key) && /^\d+$/.test(value))
    return Number(value);
  return value;
}

/** The Kubernetes object a kubernetes_* resource body manages, and the model module that describes it. */
export function toKubernetesObject(
  type: string,
  body: Readonly<Record<string, unknown>>,
): { object: JsonObject; module: string } {
  if (type === "kubernetes_manifest") {
    const manifest = body["manifest"] as JsonObject | undefined;
    const id = `${String(manifest?.["apiVersion"])}/${String(manifest?.["kind"])}`;
    const module = MANIFESTS[id];
    if (!manifest || !module)
      throw new Error(`kubernetes_manifest of ${id}: no schema known; add it to MANIFESTS`);
    return { object: manifest, module };
  }
  const target = TARGETS[type];
  if (!target) throw new Error(`${type}: no Kubernetes schema mapped; add it to TARGETS`);
  const object: JsonObject = { apiVersion: target.apiVersion, kind: target.kind };
  for (const [name, value] of Object.entries(body as JsonObject)) {
    if (TERRAFORM_ONLY.has(name)) continue;
    // The provider's Secret `data` is plain text it base64-encodes: Kubernetes' stringData.
    if (type === "kubernetes_secret_v1" && name === "data") {
      object["stringData"] = value;
      continue;
    }
    const field = camel(name);
    // A Service's spec.selector is a label map, not a LabelSelector.
    const serviceSpec = type === "kubernetes_service_v1" && name === "spec";
    object[field] = MAPS.has(name) ? value : convert(value, field, serviceSpec);
  }
  return { object, module: target.module };
}

const projectRoot = resolve(__dirname, "../..");

/** A synthesized stack's JSON (cdk.tf.json). */
export interface StackJson {
  readonly resource?: Record<string, Record<string, unknown>>;
}

/** Every kubernetes_* resource of the stacks, addressed `<stack>: <type>.<name>`. */
function kubernetesResources(stacks: Readonly<Record<string, StackJson>>) {
  return Object.entries(stacks).flatMap(([stack, json]) =>
    Object.entries(json.resource ?? {})
      .filter(([type]) => type.startsWith("kubernetes_"))
      .flatMap(([type, byName]) =>
        Object.entries(byName).map(([name, body]) => ({
          address: `${stack}: ${type}.${name}`,
          type,
          body: body as JsonObject,
        })),
      ),
  );
}

/** How many kubernetes_* resources the stacks hold (what {@link kubernetesSchemaProblems} checks). */
export function kubernetesResourceCount(stacks: Readonly<Record<string, StackJson>>): number {
  return kubernetesResources(stacks).length;
}

/**
 * Validates every kubernetes_* resource of the synthesized stacks (by stack name)
 * against the Kubernetes schemas; returns the problems, empty when all pass.
 * Unknown fields are rejected. One TypeScript program checks them all.
 */
export function kubernetesSchemaProblems(stacks: Readonly<Record<string, StackJson>>): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const checked: Array<{ address: string; object: JsonObject; module: string }> = [];
  for (const { address, type, body } of kubernetesResources(stacks)) {
    try {
      checked.push({ address, ...toKubernetesObject(type, body) });
    } catch (error) {
      problems.push({ address, message: (error as Error).message });
    }
  }
  // 1. Types, enums, required fields: the models' own validators.
  for (const { address, object, module } of checked) {
    const exports = require(require.resolve(module, { paths: [projectRoot] })) as Record<
      string,
      new (
        data: JsonObject,
      ) => { validate(): void }
    >;
    const Model = exports[String(object["kind"])];
    if (!Model) {
      problems.push({ address, message: `${module} has no ${String(object["kind"])}` });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push({ address, message: (error as Error).message });
    }
  }
  // 2. Unknown fields: TypeScript's excess-property check against the models' declarations.
  problems.push(...unknownFields(checked));
  return problems;
}

function unknownFields(
  checked: ReadonlyArray<{ address: string; object: JsonObject; module: string }>,
): SchemaProblem[] {
  if (checked.length === 0) return [];
  const modules = [...new Set(checked.map((entry) => entry.module))];
  const lines: string[] = modules.map((module, index) => `import type * as m${index} from "${module}";`);
  const starts: Array<{ line: number; address: string }> = [];
  checked.forEach((entry, index) => {
    starts.push({ line: lines.length, address: entry.address });
    const kind = String(entry.object["kind"]);
    lines.push(
      `export const r${index}: m${modules.indexOf(entry.module)}.I${kind} = ${JSON.stringify(entry.object, null, 1)};`,
    );
  });
  // Line numbers of each declaration: JSON.stringify spans several lines.
  const text = lines.join("\n");
  const lineStarts: Array<{ line: number; address: string }> = [];
  let line = 0;
  for (const [index, entry] of lines.entries()) {
    const start = starts.find((candidate) => candidate.line === index);
    if (start) lineStarts.push({ line, address: start.address });
    line += entry.split("\n").length;
  }
  const fileName = join(projectRoot, "test", "__kubernetes-schema-check__.ts");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, text, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  host.getCurrentDirectory = () => dirname(fileName);
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = [...program.getSemanticDiagnostics(), ...program.getSyntacticDiagnostics()];
  return diagnostics.map((diagnostic) => {
    const position =
      diagnostic.file && diagnostic.start !== undefined
        ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
        : 0;
    const owner = [...lineStarts].reverse().find((entry) => entry.line <= position);
    return {
      address: owner?.address ?? "(schema check)",
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"),
    };
  });
}
