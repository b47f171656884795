import { Token } from "cdktf";
// Shared pieces of the kubernetes constructs: labels, secure contexts, quantities, validation.

/** Label every resource of the kit carries. */
export const PART_OF = { "app.kubernetes.io/part-of": "ai-deploy-kit" } as const;

/** Standard labels for one component instance. */
export function componentLabels(name: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": component,
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/managed-by": "cdktf",
    ...PART_OF,
  };
}

/** The subset of {@link componentLabels} that selects pods (stable across upgrades). */
export function selectorLabels(name: string, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": component, "app.kubernetes.io/instance": name };
}

/** Label a client pod carries to pass a data service's NetworkPolicy. */
export function accessLabel(name: string): Record<string, string> {
  return { [`access.ai-deploy-kit.io/${name}`]: "true" };
}

/** Pod-level security: non-root, a fixed uid/gid, the runtime's seccomp profile. */
export function podSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: String(uid),
    runAsGroup: String(uid),
    fsGroup: String(uid),
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level security: no escalation, every capability dropped, read-only root filesystem. */
export function containerSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: String(uid),
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
  };
}

/** Requests and limits in the provider's shape. */
export function resources(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string) {
  return {
    requests: { cpu: cpuRequest, memory: memoryRequest },
    limits: { cpu: cpuLimit, memory: memoryLimit },
  };
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Bytes in a Kubernetes memory quantity (`512Mi`, `2Gi`, `1G`); NaN when it is not one. */
export function memoryBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) return Number.NaN;
  const unit = match[2] ?? "";
  return Number(match[1]) * (BINARY[unit] ?? DECIMAL[unit] ?? Number.NaN);
}

/** Millicores in a Kubernetes CPU quantity (`500m`, `2`); NaN when it is not one. */
export function cpuMillis(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (!match) return Number.NaN;
  return match[2] ? Number(match[1]) : Number(match[1]) * 1000;
}

/** Throws unless `request` and `limit` are valid quantities with request <= limit. */
export function checkResources(
  owner: string,
  cpuRequest: string,
  memoryRequest: string,
  cpuLimit: string,
  memoryLimit: string,
): void {
  const cpu = [cpuMillis(cpuRequest), cpuMillis(cpuLimit)] as const;
  const memory = [memoryBytes(memoryRequest), memoryBytes(memoryLimit)] as const;
  for (const [prop, value, parsed, example] of [
    ["cpuRequest", cpuRequest, cpu[0], "500m"],
    ["cpuLimit", cpuLimit, cpu[1], "2000m"],
    ["memoryRequest", memoryRequest, memory[0], "512Mi"],
    ["memoryLimit", memoryLimit, memory[1], "2Gi"],
  ] as const) {
    if (!(parsed > 0)) {
      throw new Error(
        `${owner}: ${prop} ("${value}") is not a positive Kubernetes quantity; use for example "${example}"`,
      );
    }
  }
  if (cpu[0] > cpu[1]) {
    throw new Error(`${owner}: cpuRequest (${cpuRequest}) must not exceed cpuLimit (${cpuLimit})`);
  }
  if (memory[0] > memory[1]) {
    throw new Error(
      `${owner}: memoryRequest (${memoryRequest}) must not exceed memoryLimit (${memoryLimit})`,
    );
  }
}

/** Throws unless `image` names a tag or digest. */
export function checkImage(owner: string, prop: string, image: string): void {
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  if (!image.includes("@sha256:") && (!lastSegment.includes(":") || lastSegment.endsWith(":"))) {
    throw new Error(
      `${owner}: ${prop} ("${image}") has no tag; pin an immutable tag such as "${image.replace(/:$/, "")}:1.0.0" or a digest`,
    );
  }
}

/** Throws unless `value` is a whole number of at least `min`. */
export function checkInteger(owner: string, prop: string, value: number, min: number, fix: string): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${owner}: ${prop} (${value}) must be a whole number of at least ${min}; ${fix}`);
  }
}

/** Throws unless `name` is a valid Kubernetes resource name (RFC 1123 label). */
export function checkName(owner: string, prop: string, name: string): void {
  if (typeof name !== "string") {
    throw new Error(
      `${owner}: ${prop} (${String(name)}) must be a string: a Kubernetes name such as "ai-gateway"`,
    );
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 52) {
    throw new Error(
      `${owner}: ${prop} ("${name}") must be lower-case letters, digits and "-", at most 52 characters, starting and ending alphanumeric`,
    );
  }
}

/**
 * Throws unless `namespace` is a valid namespace name (RFC 1123 label, at most 63
 * characters). A token (`namespace.metadata.name`) is left to Terraform.
 */
export function checkNamespace(owner: string, namespace: string, prop = "namespace"): void {
  if (typeof namespace === "string" && Token.isUnresolved(namespace)) return;
  if (
    typeof namespace !== "string" ||
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) ||
    namespace.length > 63
  ) {
    throw new Error(
      `${owner}: ${prop} (${typeof namespace === "string" ? `"${namespace}"` : String(namespace)}) must be an RFC 1123 label: lower-case letters, digits and "-", at most 63 characters, starting and ending alphanumeric (pass the name, e.g. "ai", or namespaceResource.metadata.name)`,
    );
  }
}

/** The writable emptyDir scratch space a read-only root filesystem needs. */
export function scratchVolume(name: string, sizeLimit = "64Mi") {
  return { name, emptyDir: { sizeLimit } };
}

/** A Terraform variable name derived from a Kubernetes name (`ai-postgres` → `ai_postgres_password`). */
export function variableName(name: string, suffix: string): string {
  return `${name.replace(/-/g, "_")}_${suffix}`;
}
