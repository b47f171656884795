import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { BlueGreenGateway } from "../../constructs/kubernetes/blue-green-gateway";
import { type Body, named, synth } from "../helpers/synth";
import { describeWithTerraform } from "../helpers/terraform";

/** The main Service's precondition, with the data source's object made a variable Terraform can be given. */
function gateCondition(): string {
  const { json } = synth((scope) => {
    new BlueGreenGateway(scope, "Gateway", {
      namespace: "ai",
      environment: "development",
      imageRepository: "ghcr.io/acme/ai-gateway",
      blueImageTag: "1.4.2",
      greenImageTag: "1.5.0",
      blueReplicas: "autoscale",
      greenReplicas: "autoscale",
      activeSlot: "green",
    });
  });
  const main = named(json, "kubernetes_service_v1", "ai-gateway");
  const [precondition] = (main["lifecycle"] as { precondition: Body[] }).precondition;
  return (precondition!["condition"] as string).replaceAll(
    /data\.kubernetes_resource\.\w+\.object/g,
    "var.object",
  );
}

/** A Deployment as `kubectl get -o json` (and the kubernetes_resource data source) returns it. */
const deployment = (replicas: number, status: Record<string, number>, generation = 7) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "ai-gateway-green", namespace: "ai", generation },
  spec: { replicas },
  status,
});

// Terraform evaluates the synthesized condition itself (no provider, no cluster): the offline gate.
describeWithTerraform("the rollout gate's precondition, evaluated by terraform", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollout-gate-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "main.tf.json"),
    JSON.stringify({ variable: { object: { type: "any" } }, output: { ok: { value: gateCondition() } } }),
  );
  const passes = (object: unknown): boolean => {
    writeFileSync(join(dir, "terraform.tfvars.json"), JSON.stringify({ object }));
    const env = { ...process.env, CHECKPOINT_DISABLE: "1" };
    execFileSync("terraform", ["init", "-input=false", "-no-color"], { cwd: dir, stdio: "pipe", env });
    execFileSync("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], {
      cwd: dir,
      stdio: "pipe",
      env,
    });
    return (
      execFileSync("terraform", ["output", "-raw", "ok"], { cwd: dir, encoding: "utf8", env }) === "true"
    );
  };

  it("lets the switch through only for a fully rolled-out, available Deployment", () => {
    const done = {
      observedGeneration: 7,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    };
    expect(passes(deployment(3, done))).toBe(true);
    // Pods not ready yet, a rollout in progress, a spec the controller has not seen, a parked slot.
    expect(passes(deployment(3, { ...done, readyReplicas: 1, availableReplicas: 1 }))).toBe(false);
    expect(passes(deployment(3, { ...done, updatedReplicas: 2 }))).toBe(false);
    expect(passes(deployment(3, { ...done, observedGeneration: 6 }))).toBe(false);
    expect(passes(deployment(0, { observedGeneration: 7 }))).toBe(false);
  });
});
