import { afterEach, describe, expect, it, vi } from "vitest";
import { buildDeps, type ShutdownHook } from "../../app/main";
import { createLogger } from "../../app/observability/logger";
import { METRIC } from "../../app/observability/metric-names";
import { createApp } from "../../app/server";
import { seedLedger } from "../helpers/data-dir";
import { LogCapture, testConfig } from "../helpers/deps";
import { type Listening, listen } from "../helpers/http";
import { fakeEnv, startVendorFakes, type VendorFakes } from "../helpers/ledger-gateway";
import { sample } from "../helpers/metrics";
import { tempDir } from "../helpers/real-services";

const hello = { model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] };

// The gateway as main.ts builds it (ledger on PGlite, in-process cache and
// budget, operations surface), in front of the vendor fakes.
describe("main's wiring: ledger, cache and budget with the operations surface", () => {
  let fakes: VendorFakes | undefined;
  let server: Listening | undefined;
  let hooks: ShutdownHook[] = [];
  const dirs: (() => void)[] = [];
  afterEach(async () => {
    await server?.close();
    for (const hook of hooks.reverse()) await hook();
    hooks = [];
    await fakes?.close();
    for (const cleanup of dirs.splice(0)) cleanup();
  });

  const start = async (env: Record<string, string>) => {
    fakes = await startVendorFakes();
    const data = tempDir();
    dirs.push(data.cleanup);
    const all = { ENVIRONMENT: "development", ...fakeEnv(fakes), DATA_DIR: seedLedger(data.dir), ...env };
    const logger = createLogger({ level: "warn", destination: new LogCapture() });
    const built = await buildDeps(testConfig(all), logger, all);
    hooks = built.hooks;
    server = await listen(createApp(built.deps));
    return { url: server.url, deps: built.deps };
  };
  const post = (path: string, body: unknown) =>
    fetch(`${server!.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("records cache, cost, budget and ledger figures in the one /metrics registry", async () => {
    const { url, deps } = await start({ AI_CACHE_ENABLED: "true" });
    fakes!.openai.script({ kind: "answer", text: "Hi", usage: { input: 1000, output: 500 } });
    expect((await post("/v1/chat/completions", hello)).status).toBe(200);
    expect((await post("/v1/chat/completions", hello)).headers.get("x-ai-cache")).toBe("hit");
    await deps.budget?.idle();
    await vi.waitFor(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(sample(text, METRIC.cacheMisses, { store: "memory" })).toBe(1);
        expect(sample(text, METRIC.cacheHits, { store: "memory" })).toBe(1);
        expect(sample(text, METRIC.cost, { provider: "openai", model: "gpt-4o" })).toBeGreaterThan(0);
        expect(sample(text, METRIC.budgetSpent)).toBeGreaterThan(0);
        expect(sample(text, METRIC.ledgerRows, { outcome: "written" })).toBeGreaterThanOrEqual(1);
        expect(
          sample(text, METRIC.requests, { provider: "openai", model: "gpt-4o", status: "200", cache: "hit" }),
        ).toBe(1);
      },
      { timeout: 5_000 },
    );
    expect(fakes!.openai.chatRequests()).toHaveLength(1);
  });

  it("refuses batch items and jobs once an enforced budget is spent, like chat", async () => {
    await start({ AI_BUDGET_ENFORCE: "true", AI_DAILY_BUDGET: "0" });
    const chat = await post("/v1/chat/completions", hello);
    expect(chat.status).toBe(429);
    const batch = (await (await post("/v1/batch", { requests: [hello] })).json()) as {
      results: { success: boolean; error?: { type: string; status: number } }[];
    };
    expect(batch.results[0]).toMatchObject({
      success: false,
      error: { type: "budget_exceeded", status: 429 },
    });
    const { id } = (await (await post("/v1/jobs", hello)).json()) as { id: string };
    await vi.waitFor(async () => {
      const view = (await (await fetch(`${server!.url}/v1/jobs/${id}`)).json()) as {
        status: string;
        error?: { type: string };
      };
      expect(view).toMatchObject({ status: "failed", error: { type: "budget_exceeded" } });
    });
    expect(fakes!.openai.chatRequests()).toHaveLength(0);
  });
});
