import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CostLedger, openCostLedger } from "../../../app/ledger/ledger";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { LogCapture } from "../../helpers/deps";
import { ledgerRow } from "../../helpers/events";
import { startLedgerGateway, startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { RecordingMetrics } from "../../helpers/metrics";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

// Issue 10 item 1: one request holding text Postgres cannot store must never stop the ledger.

const { schema, cleanup } = pgSchema();
let sql: Client;
let fakes: VendorFakes;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  fakes = await startVendorFakes();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await fakes.close();
  await sql.end();
  await cleanup();
});

async function openLedger(): Promise<{ ledger: CostLedger; metrics: RecordingMetrics; dataDir: string }> {
  const data = tempDir();
  const metrics = new RecordingMetrics();
  const ledger = await openCostLedger({
    databaseUrl: DATABASE_URL,
    dataDir: data.dir,
    schema,
    metrics,
    logger: createLogger({ level: "debug", destination: new LogCapture() }),
    writer: { flushIntervalMs: 60_000, replayIntervalMs: 60_000 },
  });
  // Run in reverse: the ledger closes before its directory goes.
  closers.push(
    () => data.cleanup(),
    () => ledger.close(),
  );
  return { ledger, metrics, dataDir: data.dir };
}

/** A row as an earlier release wrote it: client text stored as it came. */
const row = ledgerRow;

async function stored(ids: readonly string[]): Promise<number> {
  const result = await sql.query(
    `SELECT count(*)::int AS n FROM ${schema}.ledger_requests WHERE request_id = ANY($1)`,
    [ids],
  );
  return result.rows[0].n as number;
}

describe("poison-proof ledger writes", () => {
  it("answers a model holding NUL or a lone surrogate and bills it with the text made storable", async () => {
    const gateway = await startLedgerGateway({ fakes, schema });
    closers.push(() => gateway.close());
    for (const model of ["openai/x\u0000y", "openai/x\ud800y", "openai/\udc00"]) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "poison-http" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi \u0000 \ud800" }] }),
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    await gateway.ledger.writer.flush();
    expect(gateway.ledger.writer.spooling).toBe(false);
    const rows = await sql.query(
      `SELECT model FROM ${schema}.ledger_requests WHERE client_request_id = 'poison-http' ORDER BY model`,
    );
    expect(rows.rows.map((r) => r.model).sort()).toEqual(["x\uFFFDy", "x\uFFFDy", "\uFFFD"].sort());
  });

  it("fails when a model name is longer than 256 characters with a 400 naming the field", async () => {
    const gateway = await startLedgerGateway({ fakes, schema });
    closers.push(() => gateway.close());
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m".repeat(257), messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      "Invalid request: model: must be at most 256 characters",
    );
  });

  it("splits a batch Postgres refuses for its data, dead-letters the bad row and writes every other", async () => {
    const { ledger, metrics } = await openLedger();
    const good = Array.from({ length: 9 }, () => row());
    const bad = row({ model: "x\u0000y" });
    const batch = [...good.slice(0, 4), bad, ...good.slice(4)];
    for (const item of batch) ledger.writer.write(item);
    await ledger.writer.flush();
    expect(ledger.writer.spooling).toBe(false);
    expect(await stored(good.map((r) => r.requestId))).toBe(9);
    expect(await stored([bad.requestId])).toBe(0);
    const dead = readFileSync(ledger.deadLetters.path, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(dead).toHaveLength(1);
    expect(dead[0].row.requestId).toBe(bad.requestId);
    expect(dead[0].reason.code).toBe("22P05");
    expect(metrics.count(METRIC.ledgerDeadLetters, {})).toBe(1);
    expect(metrics.count(METRIC.ledgerRows, { outcome: "written" })).toBe(9);
    // The writer still writes: the next rows go to the database, not the spool.
    const after = row();
    ledger.writer.write(after);
    await ledger.writer.flush();
    expect(await stored([after.requestId])).toBe(1);
    expect(metrics.count(METRIC.ledgerRows, { outcome: "spooled" })).toBe(0);
  });

  it("replays a spool whose first line is poison: the bad line is dead-lettered, the rest land, the file goes", async () => {
    const data = tempDir();
    closers.push(() => data.cleanup());
    const spoolDir = join(data.dir, "ledger-spool");
    mkdirSync(spoolDir, { recursive: true });
    const bad = row({ tenant: "a\ud800b" });
    const good = [row(), row(), row()];
    writeFileSync(
      join(spoolDir, "replay-1-aaaa.jsonl"),
      `${JSON.stringify(bad)}\n${JSON.stringify(good[0])}\n`,
    );
    writeFileSync(
      join(spoolDir, "replay-2-bbbb.jsonl"),
      `${JSON.stringify(good[1])}\n${JSON.stringify(good[2])}\n`,
    );
    const ledger = await openCostLedger({
      databaseUrl: DATABASE_URL,
      dataDir: data.dir,
      schema,
      logger: createLogger({ level: "debug", destination: new LogCapture() }),
      writer: { flushIntervalMs: 60_000, replayIntervalMs: 60_000 },
    });
    closers.push(() => ledger.close());
    expect(await stored(good.map((r) => r.requestId))).toBe(3);
    expect(ledger.writer.spooling).toBe(false);
    expect(ledger.deadLetters.count).toBe(1);
    expect(readFileSync(ledger.deadLetters.path, "utf8")).toContain(bad.requestId);
  });
});
