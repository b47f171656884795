import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileConfig } from "../../../app/config/file-config";
import { migrate, openLedgerDb } from "../../../app/ledger/db";
import { type CostLedger, openCostLedger } from "../../../app/ledger/ledger";
import { type CostEvent, GatewayEvents } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { LogCapture } from "../../helpers/deps";
import { ledgerRow, responseEvent } from "../../helpers/events";
import { RecordingMetrics } from "../../helpers/metrics";
import { DATABASE_URL, pgSchema, TcpProxy, tempDir } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
let sql: Client;
const opened: CostLedger[] = [];
const dirs: Array<{ cleanup(): void }> = [];

beforeAll(async () => {
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
});
afterAll(async () => {
  for (const ledger of opened) await ledger.close().catch(() => {});
  await sql.end();
  await dropSchema();
  for (const dir of dirs) dir.cleanup();
});

function setup(
  options: {
    databaseUrl?: string;
    flushIntervalMs?: number;
    replayIntervalMs?: number;
    prices?: () => FileConfig["prices"];
  } = {},
) {
  const logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });
  const data = tempDir();
  dirs.push(data);
  const metrics = new RecordingMetrics();
  const events = new GatewayEvents();
  const open = async () => {
    const ledger = await openCostLedger({
      databaseUrl: options.databaseUrl ?? DATABASE_URL,
      dataDir: data.dir,
      schema,
      logger,
      metrics,
      prices: options.prices,
      writer: {
        flushIntervalMs: options.flushIntervalMs ?? 60_000,
        replayIntervalMs: options.replayIntervalMs ?? 60_000,
      },
    });
    opened.push(ledger);
    ledger.attach(events);
    return ledger;
  };
  return { logs, metrics, events, open, dataDir: data.dir };
}

async function rowsFor(requestIds: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const result = await sql.query(
    // New rows keep the client's id in client_request_id; rows spooled by an earlier release in request_id.
    `SELECT * FROM ${schema}.ledger_requests
      WHERE client_request_id = ANY($1) OR request_id = ANY($1) ORDER BY request_id`,
    [requestIds],
  );
  return result.rows;
}

describe("ledger migrations", () => {
  it("apply once when several replicas start together", async () => {
    const dbs = await Promise.all(
      [1, 2, 3].map(() => openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema })),
    );
    const applied = await Promise.all(dbs.map((db) => migrate(db, { schema })));
    expect(applied.flat()).toEqual([1, 2, 3]);
    expect(await migrate(dbs[0]!, { schema })).toEqual([]);
    const versions = await sql.query(`SELECT version FROM ${schema}.ledger_migrations`);
    expect(versions.rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    for (const db of dbs) await db.close();
  });
});

describe("cost ledger on Postgres", () => {
  it("writes one priced row per served request, off the request path, and emits onCost", async () => {
    const { events, open } = setup();
    const ledger = await open();
    const costs: CostEvent[] = [];
    events.on("onCost", (event) => costs.push(event));
    const paid = responseEvent({
      model: "gpt-4o",
      inputTokens: 1_234_567,
      outputTokens: 89,
      attempts: 2,
      fallbackUsed: true,
    });
    const hit = responseEvent({ model: "gpt-4o", cacheHit: true, stream: true });
    events.emit("onResponse", paid);
    events.emit("onResponse", hit);
    // Buffered, not yet written: the request path never waited on the database.
    expect(ledger.writer.pending).toBe(2);
    expect(await rowsFor([paid.requestId])).toEqual([]);
    await ledger.writer.flush();
    const rows = await rowsFor([paid.requestId, hit.requestId]);
    expect(rows).toHaveLength(2);
    const paidRow = rows.find((row) => row["client_request_id"] === paid.requestId)!;
    expect(paidRow).toMatchObject({
      tenant: "tenant-a",
      provider: "openai",
      model: "gpt-4o",
      input_tokens: 1_234_567,
      output_tokens: 89,
      cost_usd: "3.087307500000",
      latency_ms: 120,
      attempts: 2,
      fallback_used: true,
      cache_hit: false,
      unpriced: false,
      stream: false,
      status: 200,
    });
    expect((paidRow["occurred_at"] as Date).toISOString().slice(0, 10)).toBe(
      (paidRow["day"] as Date).toISOString().slice(0, 10),
    );
    expect(rows.find((row) => row["client_request_id"] === hit.requestId)).toMatchObject({
      cache_hit: true,
      cost_usd: "0.000000000000",
    });
    expect(costs.map((cost) => [cost.costUsd, cost.cacheHit])).toEqual([
      ["3.087307500000", false],
      ["0.000000000000", true],
    ]);
  });

  it("prices an unknown model at zero with a log line and a metric", async () => {
    const { events, open, logs, metrics } = setup();
    const ledger = await open();
    const event = responseEvent({ provider: "groq", model: "brand-new-model" });
    events.emit("onResponse", event);
    events.emit("onResponse", responseEvent({ provider: "groq", model: "brand-new-model" }));
    await ledger.writer.flush();
    expect(await rowsFor([event.requestId])).toMatchObject([{ cost_usd: "0.000000000000", unpriced: true }]);
    expect(metrics.count(METRIC.unpricedRequests, { provider: "groq", model: "brand-new-model" })).toBe(2);
    // One log line per model; the metric counts every request.
    const lines = logs
      .records()
      .filter((r) => r["msg"] === "no price for model; priced 0 (add it to prices in AI_CONFIG_FILE)");
    expect(lines.map((r) => [r["provider"], r["model"]])).toEqual([["groq", "brand-new-model"]]);
  });

  it("prices with the AI_CONFIG_FILE prices in force when the request is served (reload)", async () => {
    let prices: FileConfig["prices"] = {};
    const { open } = setup({ prices: () => prices });
    const ledger = await open();
    const before = ledger.record(responseEvent({ model: "gpt-4o", inputTokens: 1_000_000, outputTokens: 0 }));
    prices = { openai: { "gpt-4o": { input: 1, output: 1 } } };
    const after = ledger.record(responseEvent({ model: "gpt-4o", inputTokens: 1_000_000, outputTokens: 0 }));
    expect([before.costUsd, after.costUsd]).toEqual(["2.500000000000", "1.000000000000"]);
    await ledger.writer.flush();
  });

  it("records every billed call under its own ledger key, even when the client reuses an x-request-id", async () => {
    const { open } = setup();
    const ledger = await open();
    const event = responseEvent();
    const first = ledger.record(event);
    const second = ledger.record({ ...event, outputTokens: 999_999 });
    expect(first.requestId).not.toBe(second.requestId);
    await ledger.writer.flush();
    const rows = await rowsFor([event.requestId]);
    expect(rows.map((row) => row["output_tokens"]).sort()).toEqual([500, 999_999]);
    expect(rows.map((row) => row["client_request_id"])).toEqual([event.requestId, event.requestId]);
  });

  it("spools 100 rows while the database is on a dead port and replays exactly 100 when it returns", async () => {
    const proxy = TcpProxy.forUrl(DATABASE_URL);
    await proxy.start();
    const url = proxy.rewrite(DATABASE_URL);
    await proxy.stop();
    const { events, open, logs, metrics } = setup({ databaseUrl: url });
    const ledger = await open();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const event = responseEvent();
      ids.push(event.requestId);
      events.emit("onResponse", event);
    }
    await ledger.writer.flush();
    expect(ledger.writer.spooling).toBe(true);
    expect(metrics.count(METRIC.ledgerRows, { outcome: "spooled" })).toBe(100);
    expect(metrics.gauges.get(METRIC.ledgerSpoolDepth)).toBe(100);
    expect(
      logs.records().some((r) => r["msg"] === "ledger database unavailable; spooling rows to local disk"),
    ).toBe(true);

    // A replay attempt while it is still down keeps every row.
    await ledger.writer.replay();
    expect(metrics.gauges.get(METRIC.ledgerSpoolDepth)).toBe(100);

    await proxy.start();
    await ledger.writer.replay();
    const rows = await rowsFor(ids);
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((row) => row["client_request_id"])).size).toBe(100);
    expect(metrics.count(METRIC.ledgerRows, { outcome: "replayed" })).toBe(100);
    expect(metrics.gauges.get(METRIC.ledgerSpoolDepth)).toBe(0);
    expect(ledger.writer.spooling).toBe(false);
    await ledger.close();
    await proxy.stop();
  });

  it("replays idempotently: a spool replayed twice still gives one row per request", async () => {
    const proxy = TcpProxy.forUrl(DATABASE_URL);
    await proxy.start();
    const { events, open, dataDir } = setup({ databaseUrl: proxy.rewrite(DATABASE_URL) });
    const ledger = await open();
    await proxy.stop();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const event = responseEvent();
      ids.push(event.requestId);
      events.emit("onResponse", event);
    }
    await ledger.writer.flush();
    // Simulate a crash after the rows reached the database but before the file was deleted.
    const spoolDir = join(dataDir, "ledger-spool");
    const text = readdirSync(spoolDir).map((file) => [file, readFileSync(join(spoolDir, file), "utf8")]);
    await proxy.start();
    await ledger.writer.replay();
    for (const [file, content] of text) writeFileSync(join(spoolDir, `replay-0-${file}`), content!);
    await ledger.writer.replay();
    expect(await rowsFor(ids)).toHaveLength(10);
    expect(readdirSync(spoolDir)).toEqual([]);
    await ledger.close();
    await proxy.stop();
  });

  it("skips a corrupt spool line with a log line and replays the rest", async () => {
    const { open, dataDir, logs } = setup();
    const good = [responseEvent(), responseEvent()];
    const row = (event: ReturnType<typeof responseEvent>) =>
      JSON.stringify(ledgerRow({ requestId: event.requestId }));
    mkdirSync(join(dataDir, "ledger-spool"), { recursive: true });
    writeFileSync(
      join(dataDir, "ledger-spool", "spool.jsonl"),
      `${row(good[0]!)}\n{"requestId":"half-writ\n${JSON.stringify({ requestId: "x", costUsd: -1 })}\n${row(good[1]!)}\n`,
    );
    const ledger = await open();
    expect(await rowsFor(good.map((event) => event.requestId))).toHaveLength(2);
    const skipped = logs.records().filter((r) => r["msg"] === "corrupt ledger spool line skipped");
    expect(skipped.map((r) => r["line"])).toEqual([2, 3]);
    expect(readdirSync(join(dataDir, "ledger-spool"))).toEqual([]);
    await ledger.close();
  });

  it("drains on close: rows still buffered are written, none lost", async () => {
    const { events, open } = setup({ flushIntervalMs: 60_000 });
    const ledger = await open();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      const event = responseEvent();
      ids.push(event.requestId);
      events.emit("onResponse", event);
    }
    await ledger.close();
    expect(await rowsFor(ids)).toHaveLength(250);
  });

  it("drains on close to the spool when the database is down, and the next start replays it", async () => {
    const proxy = TcpProxy.forUrl(DATABASE_URL);
    await proxy.start();
    const url = proxy.rewrite(DATABASE_URL);
    const first = setup({ databaseUrl: url });
    const ledger = await first.open();
    await proxy.stop();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const event = responseEvent();
      ids.push(event.requestId);
      first.events.emit("onResponse", event);
    }
    await ledger.close();
    expect(await rowsFor(ids)).toHaveLength(0);
    // The next process, same data directory, database back.
    const again = await openCostLedger({
      databaseUrl: DATABASE_URL,
      dataDir: first.dataDir,
      schema,
      logger: createLogger({ level: "silent" as "info", destination: new LogCapture() }),
    });
    opened.push(again);
    expect(await rowsFor(ids)).toHaveLength(20);
  });

  it("sums a day's usage by provider; cache hits count as requests but not tokens or cost", async () => {
    const { events, open } = setup();
    const ledger = await open();
    const day = new Date().toISOString().slice(0, 10);
    const before = await ledger.usage(day);
    events.emit(
      "onResponse",
      responseEvent({ provider: "claude", model: "claude-3-haiku", inputTokens: 4_000_000, outputTokens: 0 }),
    );
    events.emit("onResponse", responseEvent({ provider: "claude", model: "claude-3-haiku", cacheHit: true }));
    events.emit(
      "onResponse",
      responseEvent({ provider: "gemini", model: "gemini-1.5-flash", inputTokens: 10, outputTokens: 10 }),
    );
    const after = await ledger.usage(day);
    expect(after.requests - before.requests).toBe(3);
    expect(after.cacheHits - before.cacheHits).toBe(1);
    expect(after.byProvider["claude"]!.costPico - (before.byProvider["claude"]?.costPico ?? 0n)).toBe(
      1_000_000_000_000n,
    );
    expect(after.byProvider["gemini"]!.costPico - (before.byProvider["gemini"]?.costPico ?? 0n)).toBe(
      3_750_000n,
    );
    expect(after.inputTokens - before.inputTokens).toBe(4_000_010);
    expect(await ledger.spentPico(day)).toBe(after.costPico);
  });
});
