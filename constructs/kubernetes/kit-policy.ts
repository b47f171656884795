import { Container } from "@cdktf/provider-docker/lib/container";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { Annotations, type IAspect, type TerraformResource } from "cdktf";
import type { IConstruct } from "constructs";

/** Props of {@link KitPolicy}. */
export interface KitPolicyProps {
  /**
   * `error` fails synth listing every violation; `warn` prints them and lets synth pass.
   * @default "error"
   */
  readonly mode?: "error" | "warn";
}

/** Env variable names whose values are secrets. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEYS?|PRIVATE_KEY|CREDENTIALS?)$/i;
/** Values that look like credentials whatever the variable is called. */
const SECRET_VALUE =
  /^(sk-[A-Za-z0-9_-]{8,}|sk_live_|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[abps]-|AIza[0-9A-Za-z_-]{20,})/;
/** A URL with an inline password that is not a reference. */
const URL_PASSWORD = /:\/\/[^/\s:@]*:([^@\s]+)@/;

type Json = Record<string, unknown>;

const obj = (value: unknown): Json | undefined => {
  const one = Array.isArray(value) ? value[0] : value;
  return one !== null && typeof one === "object" ? (one as Json) : undefined;
};
const list = (value: unknown): Json[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (item): item is Json => item !== null && typeof item === "object",
  );
/** A Terraform reference, a cdktf token or a kubelet `$(VAR)` expansion: not a literal. */
const isReference = (value: string) => value.includes("${") || value.includes("$(");

/**
 * An Aspect enforcing the kit's secure defaults on every workload it visits:
 * Kubernetes Deployments and StatefulSets (resource limits, liveness and
 * readiness probes, non-root), Docker containers (memory limit, health check),
 * and for both pinned image tags and no literal secret-looking env values.
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
    let problems: string[] = [];
    if (node instanceof DeploymentV1 || node instanceof StatefulSetV1) problems = this.checkWorkload(node);
    else if (node instanceof Container) problems = this.checkDockerContainer(node);
    if (problems.length === 0) return;
    if (this.mode === "error") node.node.addValidation({ validate: () => problems });
    else for (const problem of problems) Annotations.of(node).addWarning(problem);
  }

  private attributes(resource: TerraformResource): Json {
    const synthesized = resource.toTerraform() as { resource: Record<string, Record<string, Json>> };
    return Object.values(Object.values(synthesized.resource)[0] ?? {})[0] ?? {};
  }

  private checkWorkload(resource: DeploymentV1 | StatefulSetV1): string[] {
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

  private checkDockerContainer(resource: Container): string[] {
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
    if (typeof value !== "string" || value === "" || isReference(value)) return [];
    const inlinePassword = URL_PASSWORD.exec(value)?.[1];
    if (
      SECRET_NAME.test(name) ||
      SECRET_VALUE.test(value) ||
      (inlinePassword && !isReference(inlinePassword))
    ) {
      return [
        `${subject} env ${name} holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef) or a sensitive variable`,
      ];
    }
    return [];
  }
}
