// What every kit construct applies to its stack without the user asking: the
// KitPolicy aspect (opt out or soften it with the context key below, or add your
// own KitPolicy to the stack) and depends_on on a namespace the stack creates.
import { Aspects, dependable, type IAspect, TerraformResource, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { KitPolicy } from "./kubernetes/kit-policy";

/**
 * Context key choosing the automatic KitPolicy: `"error"` (default), `"warn"` or `"off"`.
 * Set it on the app or stack, e.g. `new App({ context: { "ai-deploy-kit:kit-policy": "warn" } })`.
 */
export const KIT_POLICY_CONTEXT = "ai-deploy-kit:kit-policy";

const KIT = Symbol.for("ai-deploy-kit.construct");
const NAMESPACE_TYPES = new Set(["kubernetes_namespace_v1", "kubernetes_namespace"]);

type Json = Record<string, unknown>;
const first = (value: unknown): Json | undefined => {
  const one = Array.isArray(value) ? value[0] : value;
  return one !== null && typeof one === "object" ? (one as Json) : undefined;
};
const attributes = (resource: TerraformResource): Json => {
  const synthesized = resource.toTerraform() as { resource?: Record<string, Record<string, Json>> };
  return Object.values(Object.values(synthesized.resource ?? {})[0] ?? {})[0] ?? {};
};

/** The policy the kit adds itself; it stands down when the stack has a KitPolicy of the user's. */
class AutomaticKitPolicy implements IAspect {
  constructor(private readonly stack: TerraformStack) {}

  visit(node: IConstruct): void {
    const mode = String(node.node.tryGetContext(KIT_POLICY_CONTEXT) ?? "error");
    if (mode === "off") return;
    if (mode !== "error" && mode !== "warn") {
      throw new Error(`${KIT_POLICY_CONTEXT} ("${mode}") must be "error", "warn" or "off"`);
    }
    if (Aspects.of(this.stack).all.some((aspect) => aspect instanceof KitPolicy)) return;
    new KitPolicy({ mode }).visit(node);
  }
}

/**
 * Orders the kit's resources after a namespace the same stack creates: a namespace
 * passed by name carries no reference Terraform could follow.
 */
class NamespaceOrdering implements IAspect {
  private namespaces: Map<string, TerraformResource> | undefined;

  constructor(private readonly stack: TerraformStack) {}

  visit(node: IConstruct): void {
    if (!TerraformResource.isTerraformResource(node) || NAMESPACE_TYPES.has(node.terraformResourceType))
      return;
    if (!node.node.scopes.some((scope) => (scope as unknown as Record<symbol, boolean>)[KIT])) return;
    const attrs = attributes(node);
    // A kubernetes_manifest carries the object's own metadata.
    const metadata = first(attrs["metadata"]) ?? first(first(attrs["manifest"])?.["metadata"]);
    const namespace = metadata?.["namespace"];
    if (typeof namespace !== "string") return;
    const target = this.namespacesByName().get(namespace);
    if (!target) return;
    const address = dependable(target);
    if (!(node.dependsOn ?? []).includes(address)) node.dependsOn = [...(node.dependsOn ?? []), address];
  }

  private namespacesByName(): Map<string, TerraformResource> {
    if (!this.namespaces) {
      this.namespaces = new Map();
      for (const child of this.stack.node.findAll()) {
        if (!TerraformResource.isTerraformResource(child)) continue;
        if (!NAMESPACE_TYPES.has(child.terraformResourceType)) continue;
        const name = first(attributes(child)["metadata"])?.["name"];
        if (typeof name === "string") this.namespaces.set(name, child);
      }
    }
    return this.namespaces;
  }
}

const applied = new WeakSet<TerraformStack>();

/** Marks `construct` as the kit's and, once per stack, adds the kit's aspects to its stack. */
export function applyKitDefaults(construct: IConstruct): void {
  (construct as unknown as Record<symbol, boolean>)[KIT] = true;
  const stack = TerraformStack.of(construct);
  if (applied.has(stack)) return;
  applied.add(stack);
  Aspects.of(stack).add(new NamespaceOrdering(stack));
  Aspects.of(stack).add(new AutomaticKitPolicy(stack));
}
