import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Budget, createBudget } from "../../../app/budget";
import { ConfigStore } from "../../../app/config/config-store";
import { HttpError } from "../../../app/errors";
import { type CostLedger, openCostLedger } from "../../../app/ledger/ledger";
import { GatewayEvents } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { LogCapture, testConfig } from "../../helpers/deps";
import { responseEvent } from "../../helpers/events";
import { RecordingMetrics } from "../../helpers/metrics";
import {
  DATABASE_URL,
  pgSchema,
  REDIS_URL,
  redisPrefix,
  TcpProxy,
  tempDir,
} from "../../helpers/real-services";

/** A webhook receiver on loopback that keeps every alert body. */
async function webhook(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; server: Server }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, bodies, server };
}

const { schema, cleanup: dropSchema } = pgSchema();
const data = tempDir();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await dropSchema();
  data.cleanup();
});

interface Replica {
  readonly budget: Budget;
  readonly ledger: CostLedger;
  readonly events: GatewayEvents;
  readonly logs: LogCapture;
  readonly metrics: RecordingMetrics;
  /** Serves one paid request: budget check, then the priced response. */
  serve(costTokens: number): Promise<void>;
}

/** One gateway process's ledger and budget, sharing Redis (by prefix) and Postgres (by schema). */
async function replica(options: {
  prefix: string | undefined;
  redisUrl?: string;
  env: Record<string, string>;
  clock: { now(): number };
  dir: string;
}): Promise<Replica> {
  const logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });
  const metrics = new RecordingMetrics();
  const config = new ConfigStore(
    testConfig({
      ...options.env,
      ...(options.prefix ? { REDIS_URL: options.redisUrl ?? REDIS_URL } : {}),
      DATABASE_URL,
    }),
  );
  const events = new GatewayEvents();
  const ledger = await openCostLedger({
    databaseUrl: DATABASE_URL,
    dataDir: options.dir,
    schema,
    logger,
    metrics,
    clock: options.clock,
  });
  const { budget, close } = await createBudget({
    config,
    logger,
    metrics,
    clock: options.clock,
    ledgerSpent: (day) => ledger.spentPico(day),
    keyPrefix: options.prefix,
  });
  ledger.attach(events);
  budget.attach(events);
  closers.push(close, () => ledger.close());
  return {
    budget,
    ledger,
    events,
    logs,
    metrics,
    serve: async (tokens) => {
      await budget.check();
      // gpt-4o output is $10 per million tokens: 30,000 tokens cost $0.30.
      events.emit("onResponse", responseEvent({ model: "gpt-4o", inputTokens: 0, outputTokens: tokens }));
      await budget.idle();
    },
  };
}

const NOON = Date.parse("2026-11-26T12:00:00Z");

describe("daily budget across two replicas sharing Redis and Postgres", () => {
  let hook: Awaited<ReturnType<typeof webhook>>;
  beforeAll(async () => {
    hook = await webhook();
    closers.push(() => new Promise((resolve) => hook.server.close(() => resolve())));
  });

  it("refuses paid calls on both once the one shared budget is spent, overspending by at most the calls in flight", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    const clock = { now: () => NOON };
    const env = { AI_DAILY_BUDGET: "1", AI_BUDGET_ENFORCE: "true" };
    const a = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    const b = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });

    // One at a time, alternating replicas: 0.00, 0.30, 0.60, 0.90 are under $1.
    let served = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await (i % 2 === 0 ? a : b).serve(30_000);
        served++;
      } catch (error) {
        expect(error).toBeInstanceOf(HttpError);
      }
    }
    expect(served).toBe(4);
    expect(await a.budget.spentPico()).toBe(1_200_000_000_000n);
    expect(await b.budget.spentPico()).toBe(1_200_000_000_000n);

    const refused = await b.budget.check().catch((error: unknown) => error as HttpError);
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).status).toBe(429);
    expect((refused as HttpError).type).toBe("budget_exceeded");
    expect((refused as HttpError).message).toBe(
      "Daily AI budget of $1 is spent; paid calls resume at 00:00 UTC",
    );
    expect((refused as HttpError).headers).toEqual({ "Retry-After": String(12 * 3600) });
  });

  it("bounds overspend by the requests in flight when both replicas admit at once", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    const clock = { now: () => Date.parse("2026-11-27T12:00:00Z") };
    const env = { AI_DAILY_BUDGET: "1", AI_BUDGET_ENFORCE: "true" };
    const a = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    const b = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    await a.serve(90_000); // $0.90 spent

    // Six requests pass the check together (in flight) before any is priced.
    const checks = await Promise.allSettled([a, b, a, b, a, b].map((r) => r.budget.check()));
    const admitted = checks.filter((check) => check.status === "fulfilled").length;
    expect(admitted).toBe(6);
    for (const [index, r] of [a, b, a, b, a, b].entries()) {
      r.events.emit(
        "onResponse",
        responseEvent({ model: "gpt-4o", inputTokens: 0, outputTokens: 30_000 + index }),
      );
    }
    await Promise.all([a.budget.idle(), b.budget.idle()]);
    const spent = await a.budget.spentPico();
    // Overspend is exactly what was in flight: six requests, nothing after.
    expect(spent).toBe(900_000_000_000n + 6n * 300_000_000_000n + 15n * 10_000_000n);
    await expect(a.budget.check()).rejects.toThrow("Daily AI budget of $1 is spent");
    await expect(b.budget.check()).rejects.toThrow("Daily AI budget of $1 is spent");
  });

  it("raises the 80 % warning and the 100 % critical alert once each per day across replicas", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    // Each test has a day of its own: replicas reseed from the shared ledger.
    let now = Date.parse("2026-11-28T12:00:00Z");
    const clock = { now: () => now };
    const env = { AI_DAILY_BUDGET: "1", ALERT_WEBHOOK_URL: hook.url };
    hook.bodies.length = 0;
    const a = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    const b = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    // 14 requests of $0.10 from both replicas: crosses 80 % and 100 %, and keeps going.
    for (let i = 0; i < 14; i++) await (i % 2 === 0 ? a : b).serve(10_000);
    expect(hook.bodies.map((body) => [body["level"], body["date"], body["source"]])).toEqual([
      ["warning", "2026-11-28", "budget"],
      ["critical", "2026-11-28", "budget"],
    ]);
    expect(hook.bodies[0]).toMatchObject({ spentUsd: 0.8, limitUsd: 1, percent: 80 });
    const alertLines = [...a.logs.records(), ...b.logs.records()].filter((r) => r["alert"] === "budget");
    expect(alertLines.map((r) => [r["level"], r["msg"]])).toEqual([
      ["warn", "AI budget at 80%: $0.8 of $1"],
      ["error", "Daily AI budget exceeded: $1 of $1 (100%)"],
    ]);
    const count = (level: string) =>
      a.metrics.count(METRIC.budgetAlerts, { level }) + b.metrics.count(METRIC.budgetAlerts, { level });
    expect([count("warning"), count("critical")]).toEqual([1, 1]);

    // The next UTC day starts from zero and may alert again.
    now += 24 * 3600 * 1000;
    for (let i = 0; i < 9; i++) await a.serve(10_000);
    expect(hook.bodies.map((body) => [body["level"], body["date"]])).toEqual([
      ["warning", "2026-11-28"],
      ["critical", "2026-11-28"],
      ["warning", "2026-11-29"],
    ]);
  });

  it("reseeds from the ledger on start without counting anything twice", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    // A day of its own so the ledger rows of other tests do not count.
    const clock = { now: () => Date.parse("2026-12-03T08:00:00Z") };
    const env = { AI_DAILY_BUDGET: "100" };
    const a = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    await a.serve(50_000); // $0.50 in both the counter and (after flush) the ledger
    await a.ledger.writer.flush();

    // A restart with Redis intact: max(counter 0.50, ledger 0.50) = 0.50, not 1.00.
    const restarted = await replica({ prefix: keys.prefix, env, clock, dir: tempDir().dir });
    expect(await restarted.budget.spentPico()).toBe(500_000_000_000n);

    // Redis lost its data: the ledger restores it.
    const empty = redisPrefix();
    closers.push(empty.cleanup);
    const fresh = await replica({ prefix: empty.prefix, env, clock, dir: tempDir().dir });
    expect(await fresh.budget.spentPico()).toBe(500_000_000_000n);

    // The counter ahead of the ledger (rows still buffered elsewhere): kept, not lowered.
    a.events.emit("onResponse", responseEvent({ model: "gpt-4o", inputTokens: 0, outputTokens: 20_000 }));
    await a.budget.idle();
    expect(await a.budget.reseed()).toBe(700_000_000_000n);
  });

  it("keeps counting and enforcing while Redis is down, then syncs without double counting", async () => {
    const keys = redisPrefix();
    closers.push(keys.cleanup);
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    closers.push(() => proxy.stop());
    const clock = { now: () => Date.parse("2026-12-05T12:00:00Z") };
    const env = { AI_DAILY_BUDGET: "1", AI_BUDGET_ENFORCE: "true" };
    const r = await replica({
      prefix: keys.prefix,
      redisUrl: proxy.rewrite(REDIS_URL),
      env,
      clock,
      dir: tempDir().dir,
    });
    await r.serve(30_000);

    await proxy.stop();
    await r.serve(30_000);
    await r.serve(30_000);
    await r.serve(30_000);
    expect(await r.budget.spentPico()).toBe(1_200_000_000_000n);
    await expect(r.budget.check()).rejects.toThrow("Daily AI budget of $1 is spent");
    expect(
      r.logs
        .records()
        .filter((l) => l["msg"] === "budget counter unavailable; spend kept locally until it returns"),
    ).toHaveLength(1);

    await proxy.start();
    const raw = new Redis(REDIS_URL);
    closers.push(async () => raw.disconnect());
    // The reconnect reseeds: local spend pushed, then max-merged with the ledger.
    await expect
      .poll(() => raw.get(`${keys.prefix}budget:spend:2026-12-05`), { timeout: 10_000, interval: 50 })
      .toBe("1200000000000");
    await r.ledger.writer.flush();
    expect(await r.budget.reseed()).toBe(1_200_000_000_000n);
    expect(await r.budget.spentPico()).toBe(1_200_000_000_000n);
  });

  it("counts in process memory without Redis", async () => {
    const clock = { now: () => Date.parse("2026-12-04T12:00:00Z") };
    const r = await replica({
      prefix: undefined,
      env: { AI_DAILY_BUDGET: "0.5", AI_BUDGET_ENFORCE: "true" },
      clock,
      dir: tempDir().dir,
    });
    await r.serve(30_000);
    await r.serve(30_000);
    await expect(r.serve(30_000)).rejects.toThrow("Daily AI budget of $0.5 is spent");
    expect(await r.budget.status("2026-12-04")).toEqual({ limit: 0.5, spent: 0.6, percent: 120 });
  });
});

describe("budget alert delivery", () => {
  it("logs a failed webhook without its address and keeps serving", async () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: "debug", destination: logs });
    const { budget, close } = await createBudget({
      config: new ConfigStore(
        testConfig({
          AI_DAILY_BUDGET: "1",
          ALERT_WEBHOOK_URL: "http://127.0.0.1:1/hook?token=secret-canary",
        }),
      ),
      logger,
      clock: { now: () => NOON },
    });
    closers.push(close);
    expect(await budget.record(900_000_000_000n)).toBe(900_000_000_000n);
    const failed = logs.records().filter((r) => r["msg"] === "budget alert webhook failed");
    expect(failed).toHaveLength(1);
    expect(logs.lines.join("\n")).not.toContain("secret-canary");
  });
});
