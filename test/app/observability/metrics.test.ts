import { afterEach, describe, expect, it } from "vitest";
import { METRIC, PROCESS_METRIC } from "../../../app/observability/metric-names";
import { createMetrics } from "../../../app/observability/metrics";
import { createApp } from "../../../app/server";
import { testDeps } from "../../helpers/deps";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";
import { type Listening, listen } from "../../helpers/http";
import { registrySamples, sample } from "../../helpers/metrics";

describe("metrics", () => {
  let server: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("exports every documented metric name plus the process metrics on GET /metrics", async () => {
    const deps = testDeps();
    server = await listen(createApp(deps));
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    for (const name of [...Object.values(METRIC), ...Object.values(PROCESS_METRIC)]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });

  it("moves with the typed event hooks and bounds model labels to the routed models", async () => {
    const deps = testDeps({ AI_PROVIDER: "openai", AI_MODEL: "gpt-4o", AI_FALLBACK_PROVIDERS: "claude" });
    const metrics = createMetrics({ events: deps.events, config: deps.config, processMetrics: false });
    const base = {
      requestId: "r1",
      tenant: "t",
      inputTokens: 10,
      outputTokens: 5,
      durationMs: 300,
      upstreamMs: 250,
      attempts: 1,
      fallbackUsed: false,
      stream: false,
      status: 200,
    };
    deps.events.emit("onResponse", { ...base, provider: "openai", model: "gpt-4o", cacheHit: false });
    deps.events.emit("onResponse", {
      ...base,
      provider: "openai",
      model: "user-invented-model",
      cacheHit: true,
    });
    deps.events.emit("onError", {
      requestId: "r2",
      tenant: "t",
      provider: "openai",
      model: "gpt-4o",
      status: 502,
      type: "upstream_error",
      message: "all failed",
      attempts: 3,
      durationMs: 900,
    });
    deps.events.emit("onRetry", {
      requestId: "r2",
      provider: "openai",
      model: "gpt-4o",
      attempt: 1,
      reason: "rate_limit",
      delayMs: 100,
    });
    deps.events.emit("onFallback", { requestId: "r2", from: "openai", to: "claude", reason: "timeout" });
    deps.events.emit("onCircuitChange", { provider: "openai", state: "open" });
    deps.events.emit("onCost", {
      requestId: "r1",
      tenant: "t",
      provider: "openai",
      model: "gpt-4o",
      costUsd: "0.0125",
      cacheHit: false,
      unpriced: false,
    });
    metrics.cacheLookup("redis", true);
    metrics.cacheLookup("redis", false);
    metrics.budget(12.5, 100);
    metrics.ledgerSpoolDepth(3);
    metrics.jobsQueuedFrom(() => 7);
    metrics.jobFinished("completed");
    metrics.rateLimited("tokens");

    const text = await metrics.render();
    const ok = { provider: "openai", model: "gpt-4o", status: "200", cache: "miss" };
    expect(sample(text, METRIC.requests, ok)).toBe(1);
    expect(sample(text, METRIC.requests, { ...ok, model: "other", cache: "hit" })).toBe(1);
    expect(sample(text, METRIC.requests, { ...ok, status: "502", cache: "none" })).toBe(1);
    expect(text).not.toContain("user-invented-model");
    expect(
      sample(text, `${METRIC.tokens}`, { provider: "openai", model: "gpt-4o", direction: "input" }),
    ).toBe(10);
    expect(sample(text, `${METRIC.overhead}_count`, { stream: "false" })).toBe(2);
    expect(sample(text, `${METRIC.overhead}_sum`, { stream: "false" })).toBeCloseTo(0.1);
    expect(sample(text, `${METRIC.upstreamDuration}_count`, { provider: "openai", model: "gpt-4o" })).toBe(1);
    expect(sample(text, METRIC.retries, { provider: "openai", reason: "rate_limit" })).toBe(1);
    expect(sample(text, METRIC.fallbacks, { from: "openai", to: "claude", reason: "timeout" })).toBe(1);
    expect(sample(text, METRIC.circuitState, { provider: "openai" })).toBe(2);
    expect(sample(text, METRIC.circuitState, { provider: "claude" })).toBe(0);
    expect(sample(text, METRIC.cost, { provider: "openai", model: "gpt-4o" })).toBeCloseTo(0.0125);
    expect(sample(text, METRIC.cacheHits, { store: "redis" })).toBe(1);
    expect(sample(text, METRIC.cacheMisses, { store: "redis" })).toBe(1);
    expect(sample(text, METRIC.budgetSpent)).toBe(12.5);
    expect(sample(text, METRIC.budgetLimit)).toBe(100);
    expect(sample(text, METRIC.ledgerSpoolDepth)).toBe(3);
    expect(sample(text, METRIC.jobsQueued)).toBe(7);
    expect(sample(text, METRIC.jobsFinished, { status: "completed" })).toBe(1);
    expect(sample(text, METRIC.rateLimited, { reason: "tokens" })).toBe(1);
    expect(text).not.toContain("r1");
  });

  it("follows the budget limit through a config reload", async () => {
    const deps = testDeps({ AI_DAILY_BUDGET: "40" });
    const metrics = createMetrics({ events: deps.events, config: deps.config, processMetrics: false });
    expect(sample(await registrySamples(metrics.registry), METRIC.budgetLimit)).toBe(40);
    deps.config.set({ ...deps.config.get(), dailyBudgetUsd: 75 });
    expect(sample(await registrySamples(metrics.registry), METRIC.budgetLimit)).toBe(75);
  });
});

describe("metrics fed by a real gateway", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("counts a key rotation when a 401 moves a two-key pool to its next key", async () => {
    h = await startHarness({
      env: { OPENAI_API_KEY: "", OPENAI_API_KEY_1: "sk-pool-first", OPENAI_API_KEY_2: "sk-pool-second" },
    });
    const metrics = createMetrics({ events: h.deps.events, config: h.deps.config, processMetrics: false });
    h.fakes.openai.script({ kind: "error", status: 401 });
    const ask = { model: "gpt-4o", messages: [{ role: "user" as const, content: "hi" }] };
    await expect(h.client.chat.completions.create(ask)).rejects.toThrow("All providers failed");
    expect(sample(await registrySamples(metrics.registry), METRIC.keyRotations, { provider: "openai" })).toBe(
      1,
    );

    // The second key answers: no further rotation.
    await h.client.chat.completions.create(ask);
    expect(h.fakes.openai.chatRequests().map((r) => r.apiKey)).toEqual(["sk-pool-first", "sk-pool-second"]);
    expect(sample(await registrySamples(metrics.registry), METRIC.keyRotations, { provider: "openai" })).toBe(
      1,
    );
    metrics.close();
  });
});

describe("upstream error counting", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const ask = { model: "gpt-4o", messages: [{ role: "user" as const, content: "hi" }] };

  it("counts the only failed attempt of a request with no retry and no fallback", async () => {
    h = await startHarness();
    const metrics = createMetrics({ events: h.deps.events, config: h.deps.config, processMetrics: false });
    h.fakes.openai.script({ kind: "error", status: 500 });
    await expect(h.client.chat.completions.create(ask)).rejects.toThrow("All providers failed");
    const text = await metrics.render();
    expect(sample(text, METRIC.upstreamErrors, { provider: "openai", type: "upstream" })).toBe(1);
    expect(
      sample(text, METRIC.requests, { provider: "openai", model: "gpt-4o", status: "502", cache: "none" }),
    ).toBe(1);
    expect(text).not.toContain('provider="none"');
    metrics.close();
  });

  it("counts every failed attempt once with its provider across retries and failover", async () => {
    h = await startHarness({ env: { AI_MAX_RETRIES: "1", AI_FALLBACK_PROVIDERS: "claude" } });
    const metrics = createMetrics({ events: h.deps.events, config: h.deps.config, processMetrics: false });
    h.fakes.openai.script({ kind: "error", status: 500 }, { kind: "error", status: 503 });
    h.fakes.claude.script({ kind: "error", status: 401 });
    await expect(h.client.chat.completions.create(ask)).rejects.toThrow("All providers failed");
    const text = await metrics.render();
    expect(sample(text, METRIC.upstreamErrors, { provider: "openai", type: "upstream" })).toBe(2);
    expect(sample(text, METRIC.upstreamErrors, { provider: "claude", type: "authentication" })).toBe(1);
    expect(text).not.toContain('provider="none"');
    metrics.close();
  });
});

describe("metrics sink by name", () => {
  it("records counters and gauges by METRIC name with bounded labels, ignoring unknown names", async () => {
    const deps = testDeps({ AI_PROVIDER: "openai", AI_MODEL: "gpt-4o" });
    const metrics = createMetrics({ events: deps.events, config: deps.config, processMetrics: false });
    metrics.inc(METRIC.ledgerRows, { outcome: "spooled" }, 3);
    metrics.inc(METRIC.unpricedRequests, { provider: "openai", model: "secret-prompt-as-model" });
    metrics.set(METRIC.ledgerSpoolDepth, 9);
    metrics.inc("not_a_metric", { a: "b" });
    const text = await metrics.render();
    expect(sample(text, METRIC.ledgerRows, { outcome: "spooled" })).toBe(3);
    expect(sample(text, METRIC.unpricedRequests, { provider: "openai", model: "other" })).toBe(1);
    expect(sample(text, METRIC.ledgerSpoolDepth)).toBe(9);
    expect(text).not.toContain("not_a_metric");
  });
});
