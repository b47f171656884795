import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { BlueGreenGateway, type BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { diffStack } from "../../scripts/plan/diff";
import type { JsonObject } from "../../scripts/plan/json";
import { type Body, named, synth } from "../helpers/synth";

const BASE: BlueGreenGatewayProps = {
  namespace: "ai",
  imageRepository: "ghcr.io/acme/ai-gateway",
  blueImageTag: "1.4.2",
  greenImageTag: "1.5.0",
  minReplicas: 3,
  maxReplicas: 10,
};

function synthWith(props: Partial<BlueGreenGatewayProps>) {
  return synth((scope) => {
    new BlueGreenGateway(scope, "Gateway", { ...BASE, ...props });
  }).json as unknown as JsonObject;
}

const replicas = (json: JsonObject, name: string) =>
  (named(json as never, "kubernetes_deployment_v1", name)["spec"] as Body)["replicas"];

describe("BlueGreenGateway sized by colour", () => {
  it("changes nothing but the two Services' selectors when activeSlot flips", () => {
    const sizes = { blueReplicas: "autoscale", greenReplicas: 1 } as const;
    const blue = synthWith({ ...sizes, activeSlot: "blue" });
    const green = synthWith({ ...sizes, activeSlot: "green" });
    const changes = diffStack("test", blue, green).changes.map((entry) => ({
      action: entry.action,
      name: (entry.block.body["metadata"] as Body)["name"],
      attributes: entry.attributes.map((attribute) => [attribute.path, attribute.before, attribute.after]),
    }));
    expect(changes).toEqual([
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
      'BlueGreenGateway: the active slot (green) has greenReplicas 0, so the Service would reach no pod; scale it first (greenReplicas: "autoscale"), deploy, then make it active',
    );
  });

  it("fails when a slot's replicas are negative", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, blueReplicas: -1 })).toThrow(
      'BlueGreenGateway: blueReplicas (-1) must be a whole number of at least 0; use 0 to park the slot or "autoscale"',
    );
  });
});
