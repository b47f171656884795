import { describe, expect, it } from "vitest";
import { BlueGreenGateway, type BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { diffStack } from "../../scripts/plan/diff";
import type { JsonObject } from "../../scripts/plan/json";
import { BLUE_GREEN_BASE } from "../helpers/promotion";
import { all, type Body, named, synth } from "../helpers/synth";

const BASE: BlueGreenGatewayProps = {
  ...BLUE_GREEN_BASE,
  blueReplicas: "autoscale",
  greenReplicas: "autoscale",
  idleMinReplicas: 2,
  idleMaxReplicas: 4,
};

const at = (props: Partial<BlueGreenGatewayProps>) =>
  synth((scope) => {
    new BlueGreenGateway(scope, "Gateway", { ...BASE, ...props });
  }).json;

/** The HPA bounds per Deployment it scales. */
function bounds(json: ReturnType<typeof at>): Record<string, [number, number]> {
  return Object.fromEntries(
    all(json, "kubernetes_horizontal_pod_autoscaler_v2").map((body) => {
      const spec = body["spec"] as Body;
      const target = (spec["scale_target_ref"] as Body)["name"] as string;
      return [target, [spec["min_replicas"] as number, spec["max_replicas"] as number]];
    }),
  );
}

describe("BlueGreenGateway: autoscaling follows the live slot", () => {
  it("gives both slots an HPA, the idle one its own smaller bounds", () => {
    expect(bounds(at({ activeSlot: "blue" }))).toEqual({
      "ai-gateway-blue": [3, 10],
      "ai-gateway-green": [2, 4],
    });
  });

  it("after promote the live slot has the HPA with the live bounds, in the same change", () => {
    const promoted = at({ activeSlot: "green" });
    expect(bounds(promoted)).toEqual({ "ai-gateway-green": [3, 10], "ai-gateway-blue": [2, 4] });
    const green = named(promoted, "kubernetes_deployment_v1", "ai-gateway-green");
    // The HPA owns the count: Terraform neither pins nor resets it.
    expect((green["spec"] as Body)["replicas"]).toBeUndefined();
    expect(green["lifecycle"]).toEqual({ ignore_changes: ["spec[0].replicas"] });
  });

  it("a promotion is the selector switch, the HPA bounds swap, and the gate's target: nothing else", () => {
    const changes = diffStack(
      "test",
      at({ activeSlot: "blue" }) as unknown as JsonObject,
      at({ activeSlot: "green" }) as unknown as JsonObject,
    ).changes.map((entry) => [
      entry.action,
      entry.block.type,
      (entry.block.body["metadata"] as Body)["name"],
      entry.attributes.map((attribute) => attribute.path),
    ]);
    expect(changes).toEqual([
      ["update", "kubernetes_resource", "ai-gateway-green", ["depends_on[0]", "metadata.name"]],
      [
        "update",
        "kubernetes_horizontal_pod_autoscaler_v2",
        "ai-gateway-blue",
        ["spec.max_replicas", "spec.min_replicas"],
      ],
      [
        "update",
        "kubernetes_horizontal_pod_autoscaler_v2",
        "ai-gateway-green",
        ["spec.max_replicas", "spec.min_replicas"],
      ],
      ["update", "kubernetes_service_v1", "ai-gateway", ['spec.selector["ai-deploy-kit.io/slot"]']],
      ["update", "kubernetes_service_v1", "ai-gateway-preview", ['spec.selector["ai-deploy-kit.io/slot"]']],
    ]);
  });

  it("fails when idleMinReplicas exceeds idleMaxReplicas", () => {
    expect(() => at({ idleMinReplicas: 5, idleMaxReplicas: 4 })).toThrow(
      "BlueGreenGateway: idleMinReplicas (5) must not exceed idleMaxReplicas (4)",
    );
  });
});

describe("BlueGreenGateway: the rollout gate in the plan", () => {
  it("reads the active slot's Deployment after applying it and makes the main Service require it rolled out", () => {
    const json = at({ activeSlot: "green" }) as unknown as {
      data: Record<string, Record<string, Body>>;
      resource: Record<string, Record<string, Body>>;
    };
    const [rollout] = Object.values(json.data["kubernetes_resource"] ?? {});
    expect(rollout).toMatchObject({
      api_version: "apps/v1",
      kind: "Deployment",
      metadata: { name: "ai-gateway-green", namespace: "ai" },
      depends_on: [expect.stringMatching(/^kubernetes_deployment_v1\.Gateway_Green_/)],
    });
    const main = named(json as never, "kubernetes_service_v1", "ai-gateway");
    const [precondition] = (main["lifecycle"] as { precondition: Body[] }).precondition;
    const condition = precondition?.["condition"] as string;
    for (const field of ["availableReplicas", "updatedReplicas", "observedGeneration"]) {
      expect(condition).toContain(`.object.status.${field}, 0)`);
    }
    expect(condition).toContain(".object.spec.replicas, 0) >= 1");
    expect(named(json as never, "kubernetes_service_v1", "ai-gateway-preview")["lifecycle"]).toBeUndefined();
  });
});

describe("BlueGreenGateway: per-slot settings and job queues", () => {
  it("rolls only the slot whose overrides change, and gives each slot its own job queue", () => {
    const before = at({});
    const after = at({ greenOverrides: { aiModel: "gpt-4.1", cpuRequest: "1000m" } });
    const changed = diffStack(
      "test",
      before as unknown as JsonObject,
      after as unknown as JsonObject,
    ).changes.map((entry) => (entry.block.body["metadata"] as Body)["name"]);
    expect(changed).toEqual(["ai-gateway-green-config", "ai-gateway-green"]);
    const settings = (name: string) =>
      named(after, "kubernetes_config_map_v1", `${name}-config`)["data"] as Record<string, string>;
    expect(settings("ai-gateway-green")["AI_MODEL"]).toBe("gpt-4.1");
    expect(settings("ai-gateway-blue")["AI_MODEL"]).toBeUndefined();
    expect(settings("ai-gateway-blue")).toMatchObject({
      AI_JOBS_QUEUE: "ai-gateway-jobs-blue",
      AI_JOBS_POLL_QUEUES: "ai-gateway-jobs-green",
    });
    expect(settings("ai-gateway-green")).toMatchObject({
      AI_JOBS_QUEUE: "ai-gateway-jobs-green",
      AI_JOBS_POLL_QUEUES: "ai-gateway-jobs-blue",
    });
  });
});

describe("per-slot settings in the stacks", () => {
  it("an environment's greenOverrides reach only the green slot", async () => {
    const { ENVIRONMENTS } = await import("../../stacks/environments");
    const { EnvironmentStack } = await import("../../stacks/main");
    const { Testing } = await import("cdktf");
    const stack = new EnvironmentStack(Testing.app(), "production", {
      environment: { ...ENVIRONMENTS.production, greenOverrides: { aiModel: "gpt-4.1", memoryLimit: "3Gi" } },
    });
    const json = JSON.parse(Testing.synth(stack)) as Parameters<typeof named>[0];
    const model = (name: string) =>
      (named(json, "kubernetes_config_map_v1", `${name}-config`)["data"] as Record<string, string>)[
        "AI_MODEL"
      ];
    expect(model("ai-gateway-green")).toBe("gpt-4.1");
    expect(model("ai-gateway-blue")).toBe("gpt-4o");
  });
});
