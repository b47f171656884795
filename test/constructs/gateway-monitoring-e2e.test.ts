import { TerraformStack, Testing } from "cdktf";
import { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { METRIC } from "../../app/observability/metric-names";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { GatewayMonitoring } from "../../constructs/kubernetes/gateway-monitoring";
import { type GatewayHarness, startHarness } from "../helpers/gateway";
import { parseExposition, type Sample } from "../helpers/metrics";
import { promqlUses, type SelectorUse, TARGET_LABELS } from "./_promql";

/** Whether a scraped sample satisfies a selector; target labels (added by Prometheus) are not in the scrape. */
function selects(selector: SelectorUse, sample: Sample): boolean {
  if (sample.name !== selector.metric) return false;
  return selector.matchers.every(({ label, op, value }) => {
    if (TARGET_LABELS.has(label)) return true;
    const actual = sample.labels[label] ?? "";
    const full = new RegExp(`^(?:${value})$`);
    if (op === "=") return actual === value;
    if (op === "!=") return actual !== value;
    if (op === "=~") return full.test(actual);
    return !full.test(actual);
  });
}

const ask = { model: "gpt-4o", messages: [{ role: "user" as const, content: "Hi" }] };

describe("GatewayMonitoring against a running gateway", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a failover, an open breaker, a 502 and a degraded reply produce every series and label value the alerts read", async () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const gateway = new AiGatewayService(stack, "Gateway", {
      image: "ghcr.io/acme/ai-gateway:1.0.0",
      namespace: "ai",
      environment: "development",
    });
    const { alerts } = new GatewayMonitoring(stack, "Monitoring", { gateway });

    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude", AI_BREAKER_THRESHOLD: "1" } });
    // 1: openai answers 500, its breaker opens, claude answers. 2: openai is skipped, claude fails too.
    h.fakes.openai.script({ kind: "error", status: 500 });
    const first = await h.client.chat.completions.create(ask).withResponse();
    expect(first.response.headers.get("x-ai-provider")).toBe("claude");
    h.fakes.claude.script({ kind: "error", status: 500 });
    const failure = await h.client.chat.completions.create(ask).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBe(502);
    // 3: the operator turns degraded replies on (a config reload); every target fails again and the
    // client gets the apology as a 200, which the error-rate alert must still count as a failure.
    h.deps.config.set({ ...h.deps.config.get(), degradedReply: true });
    h.fakes.claude.script({ kind: "error", status: 500 });
    const degraded = await h.client.chat.completions.create(ask).withResponse();
    expect(degraded.response.status).toBe(200);
    expect(degraded.response.headers.get("x-ai-degraded")).toBe("true");

    const response = await fetch(`${h.url}/metrics`);
    expect(response.status).toBe(200);
    const samples = parseExposition(await response.text());

    for (const rule of alerts) {
      for (const selector of promqlUses(rule.expr).selectors) {
        const matched = samples.filter((sample) => selects(selector, sample));
        expect(
          matched.length,
          `${rule.alert}: ${selector.metric} ${JSON.stringify(selector.matchers)}`,
        ).toBeGreaterThan(0);
      }
    }

    const value = (name: string, labels: Record<string, string>) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    expect(value(METRIC.requests, { status: "502" })).toBe(1);
    expect(value(METRIC.requests, { status: "200", provider: "claude" })).toBe(1);
    // The degraded reply: a 200 nobody served, and one degraded reply naming the first target.
    expect(value(METRIC.requests, { status: "200", provider: "none", cache: "none" })).toBe(1);
    expect(value(METRIC.degradedReplies, {})).toBe(1);
    expect(value(METRIC.degradedReplies, { provider: "openai" })).toBe(1);
    // What the error-rate alert computes: (5xx + degraded) / all = 2 of 3 requests failed.
    const all = value(METRIC.requests, {});
    const failed =
      samples
        .filter((s) => s.name === METRIC.requests && /^5\d\d$/.test(s.labels["status"] ?? ""))
        .reduce((sum, s) => sum + s.value, 0) + value(METRIC.degradedReplies, {});
    expect(all).toBe(3);
    expect(failed / all).toBeCloseTo(2 / 3);
    expect(value(METRIC.circuitState, { provider: "openai" })).toBe(2);
    // The 500 fails over, and so do the two requests the open breaker turns away from openai.
    expect(value(METRIC.fallbacks, { from: "openai", to: "claude" })).toBe(3);
    expect(value(METRIC.fallbacks, { from: "openai", to: "claude", reason: "circuit_open" })).toBe(2);
    expect(value(METRIC.tokens, { provider: "claude" })).toBeGreaterThan(0);
    expect(value(`${METRIC.requestDuration}_count`, {})).toBe(3);
    expect(value(METRIC.budgetLimit, {})).toBeGreaterThan(0);
  });
});
