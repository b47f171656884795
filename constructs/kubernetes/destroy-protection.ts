import { type IAspect, TerraformResource } from "cdktf";
import type { IConstruct } from "constructs";

/**
 * Resource types whose destruction loses data: the namespace (it takes every
 * object and PVC in it along), StatefulSets (their volume claims), standalone
 * PVCs and PVs, and Secrets (passwords the data was written with).
 * Matched by Terraform type, every version suffix included.
 */
export const PROTECTED_TYPES: readonly string[] = [
  "kubernetes_namespace",
  "kubernetes_stateful_set",
  "kubernetes_persistent_volume_claim",
  "kubernetes_persistent_volume",
  "kubernetes_secret",
];

const baseType = (type: string): string => type.replace(/_v\d+$/, "");

/** Props of {@link DestroyProtection}. */
export interface DestroyProtectionProps {
  /**
   * Terraform types to protect, without version suffix.
   * @default PROTECTED_TYPES
   */
  readonly types?: readonly string[];
}

/**
 * An Aspect that sets `lifecycle.prevent_destroy` on every stateful resource
 * it visits, so `terraform apply` and `cdktf destroy` stop with an error
 * instead of deleting data. Lift it deliberately (docs/operations.md "Destroy
 * protection and how to lift it"): a reviewed change of `protectFromDestroy` in
 * stacks/environments.ts, or `AI_ALLOW_DESTROY=<stack>` for one run.
 */
export class DestroyProtection implements IAspect {
  public readonly types: ReadonlySet<string>;

  constructor(props: DestroyProtectionProps = {}) {
    this.types = new Set(props.types ?? PROTECTED_TYPES);
    for (const type of this.types) {
      if (!/^[a-z0-9_]+$/.test(type) || /_v\d+$/.test(type)) {
        throw new Error(
          `DestroyProtection: types entry ("${type}") must be a Terraform type without version suffix, for example "kubernetes_secret"`,
        );
      }
    }
  }

  /** Adds prevent_destroy to a protected resource, keeping the lifecycle it already has. */
  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node)) return;
    if (!this.types.has(baseType(node.terraformResourceType))) return;
    node.lifecycle = { ...(node.lifecycle ?? {}), preventDestroy: true };
  }
}

/** Whether `AI_ALLOW_DESTROY` (a comma list of stack names) lifts `stack`'s destroy protection for this run. */
export function destroyAllowed(stack: string, env: Readonly<Record<string, string | undefined>>): boolean {
  return (env["AI_ALLOW_DESTROY"] ?? "")
    .split(",")
    .map((name) => name.trim())
    .includes(stack);
}
