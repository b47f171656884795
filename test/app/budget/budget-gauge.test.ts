import { afterEach, describe, expect, it } from "vitest";
import { createBudget } from "../../../app/budget";
import { ConfigStore } from "../../../app/config/config-store";
import { PICO_PER_USD } from "../../../app/ledger/money";
import { GatewayEvents } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { createMetrics, type Metrics } from "../../../app/observability/metrics";
import { LogCapture, testConfig } from "../../helpers/deps";
import { REDIS_URL, redisPrefix } from "../../helpers/real-services";

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The unlabelled gauge's value in the exposition text. */
async function gauge(metrics: Metrics, name: string): Promise<number | undefined> {
  const line = (await metrics.render()).split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** One pod: its own registry, a budget on the shared Redis counter, and the test's clock. */
async function pod(prefix: string, clock: { now(): number }) {
  const config = new ConfigStore(testConfig({ REDIS_URL, AI_DAILY_BUDGET: "10" }));
  const metrics = createMetrics({ events: new GatewayEvents(), config, processMetrics: false });
  const { budget, close } = await createBudget({
    config,
    logger: createLogger({ level: "error", destination: new LogCapture() }),
    metrics,
    clock,
    keyPrefix: prefix,
  });
  closers.push(close, () => metrics.close());
  return { budget, metrics };
}

const usd = (value: number): bigint => BigInt(Math.round(value * 100)) * (PICO_PER_USD / 100n);

describe("budget gauge at scrape time", () => {
  it("drops to today's spend at 00:00 UTC on a pod that served no paid call since, and follows the shared counter", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    let now = Date.parse("2026-11-26T23:59:30Z");
    const clock = { now: () => now };
    const busy = await pod(keys.prefix, clock);
    const idle = await pod(keys.prefix, clock);

    await busy.budget.record(usd(9));
    expect(await gauge(busy.metrics, METRIC.budgetSpent)).toBe(9);
    // The idle pod never recorded: it still reads the shared day total when scraped.
    expect(await gauge(idle.metrics, METRIC.budgetSpent)).toBe(9);

    now = Date.parse("2026-11-27T00:00:05Z");
    // Nobody served a paid call since midnight: both pods export the new day's 0, not yesterday's 9.
    expect(await gauge(busy.metrics, METRIC.budgetSpent)).toBe(0);
    expect(await gauge(idle.metrics, METRIC.budgetSpent)).toBe(0);
    expect(await gauge(idle.metrics, METRIC.budgetLimit)).toBe(10);

    await busy.budget.record(usd(1.5));
    expect(await gauge(idle.metrics, METRIC.budgetSpent)).toBe(1.5);
    expect(await idle.budget.spentUsd()).toBe(1.5);
  });
});
