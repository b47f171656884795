import { afterEach, describe, expect, it } from "vitest";
import { METRIC } from "../../../app/observability/metric-names";
import { createMetrics, type Metrics } from "../../../app/observability/metrics";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

// Issue 14 finding 7: a 429 is one key's quota, not the provider's health. It
// rotates the key pool and backs off, and never counts against the breaker.
const ask = { model: "gpt-4o", messages: [{ role: "user" as const, content: "Hello" }] };
const THRESHOLD = 3;
const STORM = THRESHOLD + 3;

describe("429s and the circuit breaker", () => {
  let h: GatewayHarness | undefined;
  let metrics: Metrics | undefined;
  afterEach(async () => {
    metrics?.close();
    metrics = undefined;
    await h?.close();
    h = undefined;
  });

  async function start(): Promise<GatewayHarness> {
    h = await startHarness({
      env: {
        AI_FALLBACK_PROVIDERS: "claude",
        AI_BREAKER_THRESHOLD: String(THRESHOLD),
        AI_BREAKER_COOLDOWN_SECONDS: "600",
        OPENAI_API_KEY: "",
        OPENAI_API_KEY_1: "sk-pool-one",
        OPENAI_API_KEY_2: "sk-pool-two",
      },
    });
    metrics = createMetrics({ events: h.deps.events, config: h.deps.config, processMetrics: false });
    return h;
  }

  it(`leaves the breaker closed after ${STORM} consecutive 429s, rotating keys and counting them apart`, async () => {
    const h = await start();
    h.fakes.openai.script(...Array.from({ length: STORM }, () => ({ kind: "rate_limit" as const })));
    for (let i = 0; i < STORM; i++) {
      const { response } = await h.client.chat.completions.create(ask).withResponse();
      expect(response.headers.get("x-ai-provider")).toBe("claude");
    }
    const state = h.deps.gateway.providerStates().find((s) => s.provider === "openai");
    expect(state?.circuit).toBe("closed");
    expect(state?.lastRateLimitedAt).toBeTypeOf("number");
    expect(state?.lastErrorKind).toBeUndefined();
    // Each 429 moved the pool on to the other key.
    expect(h.fakes.openai.chatRequests().map((r) => r.apiKey)).toEqual(
      Array.from({ length: STORM }, (_, i) => (i % 2 === 0 ? "sk-pool-one" : "sk-pool-two")),
    );

    // The next request to openai is attempted, and answers.
    const { data, response } = await h.client.chat.completions.create(ask).withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("openai");
    expect(data.choices[0]?.message.content).toBe("Hello from openai");
    expect(h.fakes.openai.chatRequests()).toHaveLength(STORM + 1);

    const text = await metrics!.render();
    expect(text).toContain(`${METRIC.upstreamRateLimited}{provider="openai"} ${STORM}`);
    expect(text).toContain(`${METRIC.circuitState}{provider="openai"} 0`);
    expect(text).not.toContain(`${METRIC.circuitState}{provider="openai"} 2`);
  });

  it(`opens the breaker after ${THRESHOLD} consecutive 500s (the contrast)`, async () => {
    const h = await start();
    h.fakes.openai.script(...Array.from({ length: STORM }, () => ({ kind: "error" as const, status: 500 })));
    for (let i = 0; i < STORM; i++) {
      const { response } = await h.client.chat.completions.create(ask).withResponse();
      expect(response.headers.get("x-ai-provider")).toBe("claude");
    }
    expect(h.deps.gateway.providerStates().find((s) => s.provider === "openai")?.circuit).toBe("open");
    // Past the threshold openai is no longer called.
    expect(h.fakes.openai.chatRequests()).toHaveLength(THRESHOLD);
    const text = await metrics!.render();
    expect(text).not.toContain(`${METRIC.upstreamRateLimited}{provider="openai"}`);
  });
});
