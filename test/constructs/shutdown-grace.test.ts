import { describe, expect, it } from "vitest";
import { shutdownBudget } from "../../app/shutdown-budget";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { container, named, podSpec, synth } from "../helpers/synth";

const configMap = (json: ReturnType<typeof synth>["json"]) =>
  named(json, "kubernetes_config_map_v1", "ai-gateway-config")["data"] as Record<string, string>;

describe("AiGatewayService: one shutdown budget", () => {
  it("derives the grace period and SHUTDOWN_TIMEOUT_SECONDS from production's settings", () => {
    const { json } = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        image: "ghcr.io/acme/ai-gateway:1.0.0",
        secrets: new AppSecrets(scope, "Secrets", { namespace: "default" }),
      });
    });
    const deployment = named(json, "kubernetes_deployment_v1", "ai-gateway");
    // preStop 5 + drain 2 × (4 × 10 + 3 × 8) + queue close 5 + ledger flush 5 + margin 5.
    expect(podSpec(deployment)["termination_grace_period_seconds"]).toBe(5 + 128 + 5 + 5 + 5);
    expect(configMap(json)["SHUTDOWN_TIMEOUT_SECONDS"]).toBe("138");
    expect(container(deployment)["lifecycle"]).toEqual({ pre_stop: [{ exec: { command: ["sleep", "5"] } }] });
  });

  it("follows the settings it is given: longer timeouts, more retries, another fallback", () => {
    const props = {
      image: "ghcr.io/acme/ai-gateway:1.0.0",
      aiTimeoutSeconds: 20,
      aiMaxRetries: 1,
      aiFallbackProviders: ["claude", "gemini"],
    };
    const { json } = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        ...props,
        secrets: new AppSecrets(scope, "Secrets", { namespace: "default" }),
      });
    });
    const budget = shutdownBudget({ timeoutSeconds: 20, maxRetries: 1, fallbackCount: 2 });
    expect(budget.longestRequestSeconds).toBe(3 * (2 * 20 + 8));
    expect(
      podSpec(named(json, "kubernetes_deployment_v1", "ai-gateway"))["termination_grace_period_seconds"],
    ).toBe(budget.terminationGracePeriodSeconds);
  });

  it("fails when shutdownTimeoutSeconds cannot drain the longest request", () => {
    expect(() =>
      synth((scope) => {
        new AiGatewayService(scope, "Gateway", {
          image: "ghcr.io/acme/ai-gateway:1.0.0",
          secrets: new AppSecrets(scope, "Secrets", { namespace: "default" }),
          shutdownTimeoutSeconds: 25,
        });
      }),
    ).toThrow(
      "AiGatewayService: shutdownTimeoutSeconds (25) leaves 15 s to drain requests, but the longest request takes 128 s (timeout × attempts plus backoffs, per target); use at least 138, leave it unset to derive it, or lower aiTimeoutSeconds / aiMaxRetries",
    );
  });
});
