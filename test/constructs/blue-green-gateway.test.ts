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

  it("promotes a warm idle slot to at least minReplicas and parks the demoted one", () => {
    const before = synthWith({ activeSlot: "blue", idleSlotReplicas: 3 }).json;
    const after = synthWith({ activeSlot: "green", idleSlotReplicas: 3 }).json;
    expect(replicasAfterApply(before, after, "ai-gateway-green")).toBeGreaterThanOrEqual(3);
    expect(replicasAfterApply(before, after, "ai-gateway-blue")).toBe(3);
    // A parked slot keeps 0 when promoted: what the synth warning is about.
    const parked = synthWith({ activeSlot: "blue", idleSlotReplicas: 0 }).json;
    expect(replicasAfterApply(parked, synthWith({ activeSlot: "green" }).json, "ai-gateway-green")).toBe(0);
  });

  it("orders a promotion: Services after the active rollout, the demoted slot after the Services", () => {
    const { json } = synthWith({ activeSlot: "green", idleSlotReplicas: 3 });
    const ref = (type: string, name: string) => {
      const entry = Object.entries(json.resource?.[type] ?? {}).find(
        ([, body]) => (body["metadata"] as Body)["name"] === name,
      );
      // A resource address, as Terraform requires in depends_on (an interpolation is rejected).
      return `${type}.${entry?.[0]}`;
    };
    const active = ref("kubernetes_deployment_v1", "ai-gateway-green");
    for (const service of ["ai-gateway", "ai-gateway-preview"]) {
      expect(named(json, "kubernetes_service_v1", service)["depends_on"]).toEqual([active]);
    }
    expect(named(json, "kubernetes_deployment_v1", "ai-gateway-blue")["depends_on"]).toEqual([
      ref("kubernetes_service_v1", "ai-gateway"),
      ref("kubernetes_service_v1", "ai-gateway-preview"),
    ]);
  });

  it("warns when the idle slot is parked at 0 (promotion would need two applies)", () => {
    const warnings = (props: Partial<BlueGreenGatewayProps>) => {
      const stack = new TerraformStack(Testing.app(), "test");
      const gateway = new BlueGreenGateway(stack, "Gateway", { ...BASE, ...props });
      return gateway.node.metadata.filter((entry) => entry.type === "@cdktf/warn").map((entry) => entry.data);
    };
    expect(warnings({ idleSlotReplicas: 0 })).toEqual([
      'BlueGreenGateway: the idle slot "green" is parked at 0 replicas; promotion keeps the promoted slot\'s replica count and an HPA never scales up from 0, so promoting needs two applies: first raise idleSlotReplicas to at least minReplicas (3) and apply, then flip activeSlot',
    ]);
    expect(warnings({ idleSlotReplicas: 1 })).toEqual([
      'BlueGreenGateway: the idle slot "green" runs 1 replica(s), fewer than minReplicas (3); right after a promotion it serves all traffic with 1 pod(s) until its HPA scales up',
    ]);
    expect(warnings({ idleSlotReplicas: 3 })).toEqual([]);
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
