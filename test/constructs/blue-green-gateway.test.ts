import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { BlueGreenGateway, type BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { all, type Body, container, named, synth } from "../helpers/synth";

const BASE: BlueGreenGatewayProps = {
  namespace: "ai",
  imageRepository: "ghcr.io/acme/ai-gateway",
  blueImageTag: "1.4.2",
  greenImageTag: "1.5.0",
  minReplicas: 3,
  maxReplicas: 10,
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

  it("switches only selectors, HPA ownership and the idle replica count when activeSlot flips", () => {
    const blue = synthWith({ activeSlot: "blue" }).json;
    const green = synthWith({ activeSlot: "green" }).json;
    expect((selector(green, "ai-gateway") as Body)["ai-deploy-kit.io/slot"]).toBe("green");
    expect((selector(green, "ai-gateway-preview") as Body)["ai-deploy-kit.io/slot"]).toBe("blue");
    // Same resources under the same logical ids: promotion updates in place, never replaces.
    for (const type of ["kubernetes_deployment_v1", "kubernetes_service_v1", "kubernetes_config_map_v1"]) {
      expect(Object.keys(green.resource?.[type] ?? {})).toEqual(Object.keys(blue.resource?.[type] ?? {}));
    }
    const hpaTargets = (json: typeof blue) =>
      all(json, "kubernetes_horizontal_pod_autoscaler_v2").map(
        (hpa) => ((hpa["spec"] as Body)["scale_target_ref"] as Body)["name"],
      );
    expect(hpaTargets(blue)).toEqual(["ai-gateway-blue"]);
    expect(hpaTargets(green)).toEqual(["ai-gateway-green"]);
  });

  it("scales the idle slot to idleSlotReplicas (zero by default) without an HPA", () => {
    const parked = synthWith().json;
    expect((named(parked, "kubernetes_deployment_v1", "ai-gateway-green")["spec"] as Body)["replicas"]).toBe(
      "0",
    );
    expect(
      (named(parked, "kubernetes_deployment_v1", "ai-gateway-blue")["spec"] as Body)["replicas"],
    ).toBeUndefined();
    const warm = synthWith({ idleSlotReplicas: 2 }).json;
    expect((named(warm, "kubernetes_deployment_v1", "ai-gateway-green")["spec"] as Body)["replicas"]).toBe(
      "2",
    );
  });

  it("keeps stable construct ids (a public contract)", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const gateway = new BlueGreenGateway(stack, "Gateway", BASE);
    expect(gateway.node.children.map((child) => child.node.id)).toEqual([
      "Blue",
      "Green",
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

  it("fails when idleSlotReplicas is negative", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, idleSlotReplicas: -1 })).toThrow(
      "BlueGreenGateway: idleSlotReplicas (-1) must be a whole number of at least 0; use 0 to park the idle slot",
    );
  });

  it("fails when activeSlot is neither blue nor green", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(() => new BlueGreenGateway(stack, "Gateway", { ...BASE, activeSlot: "red" as "blue" })).toThrow(
      'BlueGreenGateway: activeSlot ("red") must be "blue" or "green"',
    );
  });
});
