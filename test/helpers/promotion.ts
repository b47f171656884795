import type { BlueGreenGatewayProps } from "../../constructs/kubernetes/blue-green-gateway";
import { type Body, named, type Synthesized } from "./synth";

/**
 * What Terraform and the HPA leave running in `slot` after applying `after` over
 * state produced by `before`: with `ignore_changes = [spec[0].replicas]` Terraform
 * keeps the prior count, otherwise it sets the configured one; an HPA raises a
 * count to its minReplicas, but never scales a Deployment at 0 (it is deactivated).
 */
export function replicasAfterApply(before: Synthesized, after: Synthesized, name: string): number {
  const prior = named(before, "kubernetes_deployment_v1", name);
  const next = named(after, "kubernetes_deployment_v1", name);
  const priorHpa = hpaFor(before, name);
  // The prior count: Terraform's if it set one, else what the HPA kept (at least its floor).
  const priorCount =
    (prior["spec"] as Body)["replicas"] !== undefined
      ? Number((prior["spec"] as Body)["replicas"])
      : Number(priorHpa?.["min_replicas"] ?? 1);
  const ignored = ((next["lifecycle"] as Body | undefined)?.["ignore_changes"] as string[] | undefined) ?? [];
  const count = ignored.includes("spec[0].replicas")
    ? priorCount
    : Number((next["spec"] as Body)["replicas"] ?? priorCount);
  const hpa = hpaFor(after, name);
  if (hpa === undefined || count === 0) return count;
  return Math.max(count, Number(hpa["min_replicas"]));
}

function hpaFor(json: Synthesized, name: string): Body | undefined {
  return Object.values(json.resource?.["kubernetes_horizontal_pod_autoscaler_v2"] ?? {})
    .map((body) => body["spec"] as Body)
    .find((spec) => (spec["scale_target_ref"] as Body)["name"] === name);
}

/**
 * A blue-green gateway the construct tests start from: development (no keys needed; staging and
 * production require secrets, tested in ai-gateway-service.test.ts), two tags, 3..10 replicas.
 */
export const BLUE_GREEN_BASE: BlueGreenGatewayProps = {
  namespace: "ai",
  environment: "development",
  imageRepository: "ghcr.io/acme/ai-gateway",
  blueImageTag: "1.4.2",
  greenImageTag: "1.5.0",
  minReplicas: 3,
  maxReplicas: 10,
};
