import { Annotations, type IAspect, TerraformResource } from "cdktf";
import type { IConstruct } from "constructs";
import { isReference, looksLikeLiteralSecret } from "../_secret-check";

/** Props of {@link KitPolicy}. */
export interface KitPolicyProps {
  /**
   * `error` fails synth listing every violation; `warn` prints them and lets synth pass.
   * @default "error"
   */
  readonly mode?: "error" | "warn";
}

/**
 * Resource types checked, by Terraform type rather than class: a consumer's own
 * copy of a provider package has other classes, and instanceof would skip them.
 */
const WORKLOADS = new Set([
  "kubernetes_deployment_v1",
  "kubernetes_deployment",
  "kubernetes_stateful_set_v1",
  "kubernetes_stateful_set",
]);
const CONFIG_MAPS = new Set(["kubernetes_config_map_v1", "kubernetes_config_map"]);

type Json = Record<string, unknown>;

const obj = (value: unknown): Json | undefined => {
  const one = Array.isArray(value) ? value[0] : value;
  return one !== null && typeof one === "object" ? (one as Json) : undefined;
};
const list = (value: unknown): Json[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (item): item is Json => item !== null && typeof item === "object",
  );

/**
 * An Aspect enforcing the kit's secure defaults on every workload it visits:
 * Kubernetes Deployments and StatefulSets (resource limits, liveness and
 * readiness probes, non-root), Docker containers (memory limit, health check),
 * for both pinned image tags and no literal secret-looking env values, and
 * ConfigMaps (no literal secret-looking data). Resources are matched by their
 * Terraform type, so any copy of the provider packages is checked.
 */
export class KitPolicy implements IAspect {
  public readonly mode: "error" | "warn";

  constructor(props: KitPolicyProps = {}) {
    this.mode = props.mode ?? "error";
    if (this.mode !== "error" && this.mode !== "warn") {
      throw new Error(`KitPolicy: mode ("${String(this.mode)}") must be "error" or "warn"`);
    }
  }

  /** Checks one construct; reports through a validation (error) or a warning annotation. */
  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node)) return;
    const type = node.terraformResourceType;
    let problems: string[] = [];
    if (WORKLOADS.has(type)) problems = this.checkWorkload(node);
    else if (type === "docker_container") problems = this.checkDockerContainer(node);
    else if (CONFIG_MAPS.has(type)) problems = this.checkConfigMap(node);
    if (problems.length === 0) return;
    if (this.mode === "error") node.node.addValidation({ validate: () => problems });
    else for (const problem of problems) Annotations.of(node).addWarning(problem);
  }

  private attributes(resource: TerraformResource): Json {
    const synthesized = resource.toTerraform() as { resource: Record<string, Record<string, Json>> };
    return Object.values(Object.values(synthesized.resource)[0] ?? {})[0] ?? {};
  }

  private checkConfigMap(resource: TerraformResource): string[] {
    const attrs = this.attributes(resource);
    const name = String(obj(attrs["metadata"])?.["name"] ?? resource.node.id);
    const subject = `KitPolicy: ${resource.terraformResourceType} "${name}" (${resource.node.path})`;
    const data = obj(attrs["data"]) ?? {};
    return Object.entries(data)
      .filter(([key, value]) => looksLikeLiteralSecret(key, value))
      .map(
        ([key]) =>
          `${subject} data ${key} holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef or envFrom.secretRef)`,
      );
  }

  private checkWorkload(resource: TerraformResource): string[] {
    const attrs = this.attributes(resource);
    const name = String(obj(attrs["metadata"])?.["name"] ?? resource.node.id);
    const podSpec = obj(obj(obj(attrs["spec"])?.["template"])?.["spec"]);
    const podNonRoot = obj(podSpec?.["security_context"])?.["run_as_non_root"] === true;
    const what = `KitPolicy: ${resource.terraformResourceType} "${name}" (${resource.node.path})`;
    const problems: string[] = [];
    for (const container of list(podSpec?.["container"])) {
      const subject = `${what} container "${String(container["name"])}"`;
      const limits = obj(obj(container["resources"])?.["limits"]);
      if (!limits?.["cpu"] || !limits["memory"]) {
        problems.push(
          `${subject} has no CPU and memory limits; set resources.limits.cpu and resources.limits.memory`,
        );
      }
      for (const probe of ["liveness_probe", "readiness_probe"]) {
        if (!obj(container[probe])) {
          problems.push(
            `${subject} has no ${probe.replace("_p", " p")}; add ${probe.replace(/_(.)/, (_m, c: string) => c.toUpperCase())}`,
          );
        }
      }
      const securityContext = obj(container["security_context"]);
      if (!(securityContext?.["run_as_non_root"] === true || podNonRoot)) {
        problems.push(
          `${subject} may run as root; set securityContext.runAsNonRoot: true with a non-zero runAsUser`,
        );
      }
      problems.push(...this.checkImage(subject, container["image"]));
      for (const env of list(container["env"])) {
        problems.push(...this.checkEnv(subject, String(env["name"]), env["value"]));
      }
    }
    return problems;
  }

  private checkDockerContainer(resource: TerraformResource): string[] {
    const attrs = this.attributes(resource);
    const subject = `KitPolicy: docker_container "${String(attrs["name"])}" (${resource.node.path})`;
    const problems: string[] = [];
    if (!(Number(attrs["memory"]) > 0)) problems.push(`${subject} has no memory limit; set memory (MB)`);
    if (!obj(attrs["healthcheck"])) problems.push(`${subject} has no health check; add healthcheck`);
    problems.push(...this.checkImage(subject, attrs["image"]));
    for (const entry of Array.isArray(attrs["env"]) ? attrs["env"] : []) {
      const text = String(entry);
      const at = text.indexOf("=");
      problems.push(...this.checkEnv(subject, text.slice(0, at), text.slice(at + 1)));
    }
    return problems;
  }

  private checkImage(subject: string, image: unknown): string[] {
    if (typeof image !== "string" || isReference(image)) return [];
    if (image.includes("@sha256:")) return [];
    const last = image.slice(image.lastIndexOf("/") + 1);
    if (!last.includes(":"))
      return [`${subject} image "${image}" has no tag; pin an immutable tag or digest`];
    if (last.endsWith(":latest"))
      return [`${subject} image "${image}" uses "latest"; pin an immutable tag or digest`];
    return [];
  }

  private checkEnv(subject: string, name: string, value: unknown): string[] {
    if (!looksLikeLiteralSecret(name, value)) return [];
    return [
      `${subject} env ${name} holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef) or a sensitive variable`,
    ];
  }
}
