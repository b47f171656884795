import { Client } from "pg";
import { createBudget } from "../app/budget";
import { ConfigStore } from "../app/config/config-store";
import { loadConfig } from "../app/config/load-config";
import { openCostLedger } from "../app/ledger/ledger";
import { GatewayEvents } from "../app/observability/events";
import { createLogger } from "../app/observability/logger";

// What the ledger and budget add to each served request, in this process's CPU
// time: pricing, the row, onCost, the budget counter, and the batched INSERT
// into Postgres (DATABASE_URL). Unlike req/s on a shared machine, CPU time per
// row is stable, and it is the whole cost the ledger puts on the gateway
// process (the database's own work happens in the database's process).
const ROWS = Number(process.env["BENCH_ROWS"] ?? 50_000);
const databaseUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

async function main(): Promise<void> {
  const schema = `bench_ledger_micro_${process.pid}`;
  const logger = createLogger({ level: "warn" });
  const events = new GatewayEvents();
  const ledger = await openCostLedger({ databaseUrl, dataDir: ".data/bench", schema, logger });
  ledger.attach(events);
  const { budget, close } = await createBudget({ config: new ConfigStore(loadConfig({})), logger });
  budget.attach(events);
  const run = `${Date.now()}`;
  const served = (i: number) => ({
    requestId: `bench-${run}-${i}`,
    tenant: "bench",
    provider: "openai" as const,
    model: "gpt-4o",
    inputTokens: 12,
    outputTokens: 5,
    durationMs: 5,
    upstreamMs: 3,
    attempts: 1,
    fallbackUsed: false,
    cacheHit: false,
    stream: false,
    status: 200,
  });
  // Warm the JIT on rows that are not measured.
  for (let i = 0; i < 5_000; i++) events.emit("onResponse", served(-i - 1));
  await ledger.writer.flush();

  const started = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < ROWS; i++) {
    events.emit("onResponse", served(i));
    // Yield like a server does between requests, so timers and I/O interleave.
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await budget.idle();
  await ledger.writer.flush();
  const used = process.cpuUsage(started);
  const elapsed = performance.now() - wall;

  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  const { rows } = await sql.query(`SELECT count(*)::int AS n FROM ${schema}.ledger_requests`);
  await sql.query(`DROP SCHEMA ${schema} CASCADE`);
  await sql.end();
  await close();
  await ledger.close();

  const perRow = (used.user + used.system) / ROWS;
  console.log(`node ${process.version}, ${ROWS} rows`);
  console.log("| what | figure |");
  console.log("|---|---:|");
  console.log(
    `| gateway CPU per served request (price, row, onCost, budget, batched INSERT) | ${perRow.toFixed(1)} µs |`,
  );
  console.log(`| rows written to Postgres | ${(rows[0]?.n ?? 0) - 5_000} of ${ROWS} |`);
  console.log(`| wall time | ${elapsed.toFixed(0)} ms (${Math.round((ROWS / elapsed) * 1000)} rows/s) |`);
}

void main();
