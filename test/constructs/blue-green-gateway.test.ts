import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { BlueGreenGateway, type BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { BLUE_GREEN_BASE, replicasAfterApply } from "../helpers/promotion";
import { all, type Body, container, named, synth } from "../helpers/synth";

const BASE: BlueGreenGatewayProps = {
  ...BLUE_GREEN_BASE,
};

function synthWith(props: Partial<BlueGreenGatewayProps> = {}) {
  return synth((scope) => {
    new BlueGreenGateway(scope, "Gateway", { ...BASE, ...props });
  });
}

const selector = (json: ReturnType<typeof synthWith>["json"], name: string) =>
  (named(json, "kubernetes_service_v1", name)["spec"] as Body)["selector"];

describe("BlueGreenGateway", () => {
  it("runs one deployment per slot with its own image tag", () => {
    const { json } = synthWith();
    expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-blue"))["image"]).toBe(
      "ghcr.io/acme/ai-gateway:1.4.2",
    );
    expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-green"))["image"]).toBe(
      "ghcr.io/acme/ai-gateway:1.5.0",
    );
  });

  it("points the main Service at the active slot and the preview Service at the other", () => {
    const { json } = synthWith({ activeSlot: "blue" });
    const base = { "app.kubernetes.io/name": "ai-gateway", "app.kubernetes.io/instance": "ai-gateway" };
    expect(selector(json, "ai-gateway")).toEqual({ ...base, "ai-deploy-kit.io/slot": "blue" });
    expect(selector(json, "ai-gateway-preview")).toEqual({ ...base, "ai-deploy-kit.io/slot": "green" });
  });

  it("switches only selectors and the HPAs' bounds when activeSlot flips, keeping each slot's image", () => {
    const blue = synthWith({ activeSlot: "blue" }).json;
    const green = synthWith({ activeSlot: "green" }).json;
    expect((selector(green, "ai-gateway") as Body)["ai-deploy-kit.io/slot"]).toBe("green");
    expect((selector(green, "ai-gateway-preview") as Body)["ai-deploy-kit.io/slot"]).toBe("blue");
    // Same resources under the same logical ids: promotion updates in place, never replaces.
    for (const type of [
      "kubernetes_deployment_v1",
      "kubernetes_service_v1",
      "kubernetes_config_map_v1",
      "kubernetes_horizontal_pod_autoscaler_v2",
    ]) {
      expect(Object.keys(green.resource?.[type] ?? {})).toEqual(Object.keys(blue.resource?.[type] ?? {}));
    }
    // Both slots autoscale by default; only the idle one's bounds are the idle bounds.
    const bounds = (json: typeof blue) =>
      Object.fromEntries(
        all(json, "kubernetes_horizontal_pod_autoscaler_v2").map((hpa) => {
          const spec = hpa["spec"] as Body;
          return [(spec["scale_target_ref"] as Body)["name"], [spec["min_replicas"], spec["max_replicas"]]];
        }),
      );
    expect(bounds(synthWith({ activeSlot: "blue", idleMinReplicas: 1, idleMaxReplicas: 2 }).json)).toEqual({
      "ai-gateway-blue": [3, 10],
      "ai-gateway-green": [1, 2],
    });
    expect(bounds(synthWith({ activeSlot: "green", idleMinReplicas: 1, idleMaxReplicas: 2 }).json)).toEqual({
      "ai-gateway-blue": [1, 2],
      "ai-gateway-green": [3, 10],
    });
    // Each slot keeps its own image: a promotion never moves or reverts a tag.
    for (const json of [blue, green]) {
      expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-blue"))["image"]).toBe(
        "ghcr.io/acme/ai-gateway:1.4.2",
      );
      expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-green"))["image"]).toBe(
        "ghcr.io/acme/ai-gateway:1.5.0",
      );
    }
  });

  it("autoscales both slots by default and runs a slot given a fixed count without an HPA", () => {
    const json = synthWith().json;
    for (const name of ["ai-gateway-blue", "ai-gateway-green"]) {
      expect(
        (named(json, "kubernetes_deployment_v1", name)["spec"] as Body)["replicas"],
        name,
      ).toBeUndefined();
    }
    expect(all(json, "kubernetes_horizontal_pod_autoscaler_v2")).toHaveLength(2);
    const warm = synthWith({ greenReplicas: 2 }).json;
    expect((named(warm, "kubernetes_deployment_v1", "ai-gateway-green")["spec"] as Body)["replicas"]).toBe(
      "2",
    );
    expect(
      all(warm, "kubernetes_horizontal_pod_autoscaler_v2").map(
        (hpa) => ((hpa["spec"] as Body)["scale_target_ref"] as Body)["name"],
      ),
    ).toEqual(["ai-gateway-blue"]);
  });

  it("promotes an autoscaled idle slot to the live floor in the apply that flips it", () => {
    const before = synthWith({ activeSlot: "blue", idleMinReplicas: 1, idleMaxReplicas: 2 }).json;
    const after = synthWith({ activeSlot: "green", idleMinReplicas: 1, idleMaxReplicas: 2 }).json;
    expect(replicasAfterApply(before, after, "ai-gateway-green")).toBe(3);
    // The demoted slot keeps its pods (ignore_changes) and its HPA scales it down from there.
    expect(replicasAfterApply(before, after, "ai-gateway-blue")).toBe(3);
  });

  it("keeps stable construct ids (a public contract)", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const gateway = new BlueGreenGateway(stack, "Gateway", BASE);
    expect(gateway.node.children.map((child) => child.node.id)).toEqual([
      "Blue",
      "Green",
      "ActiveRollout",
      "Resource",
      "Preview",
    ]);
    expect(gateway.blue.node.children.map((child) => child.node.id)).toEqual([
      "ServiceAccount",
      "Config",
      "Resource",
      "Autoscaler",
      "DisruptionBudget",
      "NetworkPolicy",
      "Service",
    ]);
  });

  it("fails when the repository carries a tag", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(
      () =>
        new BlueGreenGateway(stack, "Gateway", { ...BASE, imageRepository: "ghcr.io/acme/ai-gateway:1.0" }),
    ).toThrow(
      'BlueGreenGateway: imageRepository ("ghcr.io/acme/ai-gateway:1.0") must not carry a tag; put tags in blueImageTag and greenImageTag',
    );
  });

  it("fails when a slot's tag is empty", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, greenImageTag: "" })).toThrow(
      'BlueGreenGateway: greenImageTag ("ghcr.io/acme/ai-gateway") has no tag; pin an immutable tag such as "ghcr.io/acme/ai-gateway:1.0.0" or a digest',
    );
  });

  it("fails when a slot's tag is not a valid image tag", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, blueImageTag: "v1 beta" })).toThrow(
      'BlueGreenGateway: blueImageTag ("v1 beta") is not a valid image tag; use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-", for example "sha-1a2b3c4"',
    );
    expect(() => new BlueGreenGateway(stack, "Other", { ...BASE, greenImageTag: ".hidden" })).toThrow(
      'BlueGreenGateway: greenImageTag (".hidden") is not a valid image tag',
    );
    expect(() => new BlueGreenGateway(stack, "Third", { ...BASE, greenImageTag: "a".repeat(129) })).toThrow(
      "is not a valid image tag",
    );
  });

  it("fails when a JavaScript caller passes the removed idleSlotReplicas, naming the replacement", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const legacy = { ...BASE, activeSlot: "green", idleSlotReplicas: 2 } as BlueGreenGatewayProps;
    expect(() => new BlueGreenGateway(stack, "Gateway", legacy)).toThrow(
      'BlueGreenGateway: idleSlotReplicas (2) was removed; size each slot by colour instead: greenReplicas: "autoscale", blueReplicas: 2 (a fixed count; 0 parks it) or "autoscale" for both, so a promotion only switches the Services',
    );
  });

  it("fails when activeSlot is neither blue nor green", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, activeSlot: "red" as "blue" })).toThrow(
      'BlueGreenGateway: activeSlot ("red") must be "blue" or "green"',
    );
  });
});
