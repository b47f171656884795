import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CostLedger, openCostLedger } from "../app/ledger/ledger";
import { ensurePartitions, partitionName } from "../app/ledger/partitions";
import { insertStatement, type LedgerRow } from "../app/ledger/row";
import { createLogger } from "../app/observability/logger";

// The ledger at scale (issue 18): fills one day with --rows rows through the
// ledger's own insert (the unpartitioned mirror, the trigger that forwards to
// the day's partition and adds to ledger_daily in the same transaction), from
// one writer in --batch row statements, then times what reads the ledger:
// /v1/usage's day query (all tenants and one tenant), the budget's reseed
// (spentPico) and a 30-day history, and reports the table and index sizes per
// million rows. Real Postgres with DATABASE_URL (default 10,000,000 rows),
// else PGlite (default 200,000 rows). `npm run bench -- ledger-scale --rows 2000000`.
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rows: { type: "string" },
    batch: { type: "string", default: "1000" },
    tenants: { type: "string", default: "200" },
    models: { type: "string", default: "8" },
    queries: { type: "string", default: "200" },
    keep: { type: "boolean", default: false },
  },
  strict: false,
});
const databaseUrl = process.env["DATABASE_URL"];
const ROWS = Number(values.rows ?? (databaseUrl ? 10_000_000 : 200_000));
const BATCH = Number(values.batch);
const TENANTS = Number(values.tenants);
const MODELS = Number(values.models);
const QUERIES = Number(values.queries);
const DAY = "2026-12-01";
const PROVIDERS = ["openai", "claude", "gemini"];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(label: string, work: () => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 5; i++) await work();
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return `| ${label} | ${percentile(times, 50).toFixed(2)} ms | ${percentile(times, 99).toFixed(2)} ms |`;
}

function batchOf(start: number, size: number): LedgerRow[] {
  return Array.from({ length: size }, (_, offset) => {
    const i = start + offset;
    const second = Math.floor((i / ROWS) * 86_399);
    return {
      requestId: `scale-${i}`,
      clientRequestId: `client-${i}`,
      occurredAt: new Date(Date.parse(`${DAY}T00:00:00Z`) + second * 1000).toISOString(),
      day: DAY,
      tenant: `tenant-${i % TENANTS}`,
      provider: PROVIDERS[i % PROVIDERS.length]!,
      model: `model-${i % MODELS}`,
      kind: i % 10 === 0 ? "embedding" : "chat",
      inputTokens: 200 + (i % 1000),
      outputTokens: 50 + (i % 300),
      costUsd: `0.000${String(100_000 + (i % 899_999)).padStart(9, "0")}`,
      latencyMs: 100 + (i % 900),
      attempts: 1,
      fallbackUsed: i % 50 === 0,
      cacheHit: i % 20 === 0,
      unpriced: false,
      stream: i % 2 === 0,
      status: 200,
      estimated: i % 100 === 0,
    };
  });
}

async function sizes(ledger: CostLedger): Promise<Record<string, number>> {
  const [row] = await ledger.db.query<Record<string, string>>(
    `SELECT pg_table_size(to_regclass($1))::text AS partition_table,
            pg_indexes_size(to_regclass($1))::text AS partition_indexes,
            pg_table_size('ledger_requests')::text AS mirror_table,
            pg_indexes_size('ledger_requests')::text AS mirror_indexes,
            pg_total_relation_size('ledger_daily')::text AS rollups`,
    [partitionName(DAY)],
  );
  return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)]));
}

async function main(): Promise<void> {
  const schema = `bench_ledger_scale_${process.pid}`;
  const logger = createLogger({ level: "warn" });
  const dataDir = `.data/bench-ledger-scale-${process.pid}`;
  const ledger = await openCostLedger({
    databaseUrl,
    dataDir,
    schema: databaseUrl ? schema : undefined,
    logger,
  });
  try {
    await ensurePartitions(ledger.db, [DAY]);
    console.log(
      `${databaseUrl ? "Postgres" : "PGlite"}, node ${process.version}, ${ROWS.toLocaleString("en")} rows on ${DAY}, ${TENANTS} tenants × ${PROVIDERS.length} providers × ${MODELS} models, ${BATCH} rows per INSERT, one writer`,
    );
    const started = performance.now();
    let last = started;
    for (let start = 0; start < ROWS; start += BATCH) {
      const { sql, params } = insertStatement(batchOf(start, Math.min(BATCH, ROWS - start)));
      await ledger.db.query(sql, params);
      if (performance.now() - last > 30_000) {
        last = performance.now();
        const done = start + BATCH;
        console.error(
          `… ${done.toLocaleString("en")} rows, ${Math.round(done / ((last - started) / 1000))} rows/s`,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (databaseUrl) await ledger.db.query(`VACUUM ANALYZE ${partitionName(DAY)}`).catch(() => {});
    await ledger.db.query("ANALYZE ledger_daily");
    const [check] = await ledger.db.query<{ rows: string; rolled: string }>(
      "SELECT (SELECT count(*) FROM ledger_requests_by_day WHERE day = $1)::text AS rows, (SELECT sum(requests) FROM ledger_daily WHERE day = $1)::text AS rolled",
      [DAY],
    );
    console.log("");
    console.log("| what | figure |");
    console.log("|---|---:|");
    console.log(
      `| insert throughput with rollups (one writer) | ${Math.round(ROWS / seconds).toLocaleString("en")} rows/s (${seconds.toFixed(1)} s) |`,
    );
    console.log(`| rows in the partition / counted by the rollups | ${check?.rows} / ${check?.rolled} |`);
    const size = await sizes(ledger);
    const perMillion = (bytes: number) => `${((bytes / ROWS) * 1_000_000) / 1024 / 1024}`.slice(0, 6);
    console.log(`| day partition: table per million rows | ${perMillion(size["partition_table"]!)} MiB |`);
    console.log(
      `| day partition: indexes per million rows | ${perMillion(size["partition_indexes"]!)} MiB |`,
    );
    console.log(
      `| unpartitioned mirror: table per million rows | ${perMillion(size["mirror_table"]!)} MiB |`,
    );
    console.log(
      `| unpartitioned mirror: indexes per million rows | ${perMillion(size["mirror_indexes"]!)} MiB |`,
    );
    console.log(`| ledger_daily (whole table, this day) | ${(size["rollups"]! / 1024).toFixed(0)} KiB |`);
    console.log("");
    console.log(`| query (${QUERIES} runs) | p50 | p99 |`);
    console.log("|---|---:|---:|");
    console.log(await timed("/v1/usage day, all tenants (ledger.usage)", () => ledger.usage(DAY)));
    let tenant = 0;
    console.log(
      await timed("/v1/usage day, one tenant", () => ledger.usage(DAY, `tenant-${tenant++ % TENANTS}`)),
    );
    console.log(await timed("budget reseed (ledger.spentPico)", () => ledger.spentPico(DAY)));
    console.log(
      await timed("/v1/usage?from=…&to=… 30 days, one tenant", () =>
        ledger.history("2026-11-02", DAY, `tenant-${tenant++ % TENANTS}`),
      ),
    );
    console.log(
      await timed("/v1/usage?from=…&to=… 30 days, all tenants", () => ledger.history("2026-11-02", DAY)),
    );
  } finally {
    if (!values.keep && databaseUrl) await ledger.db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await ledger.close();
    // The PGlite files, spool and journal of this run.
    if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
