import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { BlueGreenGateway, type BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { diffStack } from "../../scripts/plan/diff";
import type { JsonObject } from "../../scripts/plan/json";
import { BLUE_GREEN_BASE, replicasAfterApply } from "../helpers/promotion";
import { type Body, named, type Synthesized, synth } from "../helpers/synth";

const BASE: BlueGreenGatewayProps = {
  ...BLUE_GREEN_BASE,
};

function synthWith(props: Partial<BlueGreenGatewayProps>) {
  return synth((scope) => {
    new BlueGreenGateway(scope, "Gateway", { ...BASE, ...props });
  }).json as unknown as JsonObject;
}

const replicas = (json: JsonObject, name: string) =>
  (named(json as never, "kubernetes_deployment_v1", name)["spec"] as Body)["replicas"];

describe("BlueGreenGateway sized by colour", () => {
  it("changes nothing but the two Services' selectors (and the gate's target) when activeSlot flips", () => {
    const sizes = { blueReplicas: "autoscale", greenReplicas: 1 } as const;
    const blue = synthWith({ ...sizes, activeSlot: "blue" });
    const green = synthWith({ ...sizes, activeSlot: "green" });
    const changes = diffStack("test", blue, green).changes.map((entry) => ({
      action: entry.action,
      name: (entry.block.body["metadata"] as Body)["name"],
      attributes: entry.attributes.map((attribute) => [attribute.path, attribute.before, attribute.after]),
    }));
    expect(changes).toEqual([
      // The gate reads the Deployment the main Service switches to (its precondition is unchanged).
      {
        action: "update",
        name: "ai-gateway-green",
        attributes: [
          ["depends_on[0]", expect.stringMatching(/Gateway_Blue_/), expect.stringMatching(/Gateway_Green_/)],
          ["metadata.name", "ai-gateway-blue", "ai-gateway-green"],
        ],
      },
      {
        action: "update",
        name: "ai-gateway",
        attributes: [['spec.selector["ai-deploy-kit.io/slot"]', "blue", "green"]],
      },
      {
        action: "update",
        name: "ai-gateway-preview",
        attributes: [['spec.selector["ai-deploy-kit.io/slot"]', "green", "blue"]],
      },
    ]);
  });

  it("autoscales a slot left unset and pins the other", () => {
    const json = synthWith({ greenReplicas: 2, activeSlot: "blue" });
    expect(replicas(json, "ai-gateway-blue")).toBeUndefined();
    expect(replicas(json, "ai-gateway-green")).toBe("2");
  });

  it("fails when the active slot is parked", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(
      () => new BlueGreenGateway(stack, "Gateway", { ...BASE, activeSlot: "green", greenReplicas: 0 }),
    ).toThrow(
      'BlueGreenGateway: the active slot (green) has greenReplicas 0, so the Service would reach no pod; scale it first to a fixed count of at least minReplicas (greenReplicas: 3; not straight to "autoscale": an HPA never scales up from 0), deploy, then make it active',
    );
  });

  it("keeps the promoted slot's pods through the flip, and brings a parked slot up through a fixed count", () => {
    const at = (props: Partial<BlueGreenGatewayProps>) => synthWith(props) as unknown as Synthesized;
    // The flip: the promoted slot keeps its count and gains nothing it would lose.
    const before = at({ blueReplicas: "autoscale", greenReplicas: 3, activeSlot: "blue" });
    const after = at({ blueReplicas: "autoscale", greenReplicas: 3, activeSlot: "green" });
    expect(replicasAfterApply(before, after, "ai-gateway-green")).toBe(3);
    expect(replicasAfterApply(before, after, "ai-gateway-blue")).toBe(3);
    // 0 straight to "autoscale" would leave it at 0 (ignore_changes, and no HPA scales from 0):
    // why the docs and promote say "a fixed count first".
    const parked = at({ blueReplicas: "autoscale", greenReplicas: 0 });
    expect(
      replicasAfterApply(
        parked,
        at({ blueReplicas: "autoscale", greenReplicas: "autoscale" }),
        "ai-gateway-green",
      ),
    ).toBe(0);
    const fixed = at({ blueReplicas: "autoscale", greenReplicas: 3 });
    expect(replicasAfterApply(parked, fixed, "ai-gateway-green")).toBe(3);
    expect(
      replicasAfterApply(
        fixed,
        at({ blueReplicas: "autoscale", greenReplicas: "autoscale" }),
        "ai-gateway-green",
      ),
    ).toBe(3);
  });

  it("adds no ordering (depends_on would change on a flip) and warns when the active slot is pinned below minReplicas", () => {
    const json = synthWith({ blueReplicas: "autoscale", greenReplicas: 1, activeSlot: "green" });
    for (const [type, name] of [
      ["kubernetes_service_v1", "ai-gateway"],
      ["kubernetes_service_v1", "ai-gateway-preview"],
      ["kubernetes_deployment_v1", "ai-gateway-blue"],
      ["kubernetes_deployment_v1", "ai-gateway-green"],
    ] as const) {
      expect(named(json as never, type, name)["depends_on"], name).toBeUndefined();
    }
    const warnings = (props: Partial<BlueGreenGatewayProps>) => {
      const stack = new TerraformStack(Testing.app(), "test");
      const gateway = new BlueGreenGateway(stack, "Gateway", { ...BASE, ...props });
      return gateway.node.metadata.filter((entry) => entry.type === "@cdktf/warn").map((entry) => entry.data);
    };
    expect(warnings({ blueReplicas: "autoscale", greenReplicas: 1, activeSlot: "green" })).toEqual([
      'BlueGreenGateway: the active slot "green" runs a fixed 1 replica(s), fewer than minReplicas (3); set greenReplicas to "autoscale" once it serves well (the HPA takes over from the running count)',
    ]);
    expect(warnings({ blueReplicas: "autoscale", greenReplicas: 0 })).toEqual([]);
  });

  it("fails when a slot's replicas are negative", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, blueReplicas: -1 })).toThrow(
      'BlueGreenGateway: blueReplicas (-1) must be a whole number of at least 0; use 0 to park the slot or "autoscale"',
    );
  });
});
