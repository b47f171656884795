import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, migrate, openLedgerDb } from "../../../app/ledger/db";
import { LedgerMaintenance } from "../../../app/ledger/maintenance";
import { ensurePartitions, partitionDays } from "../../../app/ledger/partitions";
import { insertStatement, type LedgerRow } from "../../../app/ledger/row";
import { createLogger } from "../../../app/observability/logger";
import { LogCapture } from "../../helpers/deps";
import { ledgerRow } from "../../helpers/events";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

const ROOT = join(__dirname, "../../..");
const logger = createLogger({ level: "debug", destination: new LogCapture() });
const clock = { now: () => Date.parse("2026-12-02T03:00:00.000Z") };

function rows(day: string, count: number): LedgerRow[] {
  return Array.from({ length: count }, (_, index) =>
    ledgerRow({
      requestId: `${day}-${index}`,
      occurredAt: `${day}T10:00:00.000Z`,
      day,
      // Text a CSV or JSON writer could get wrong.
      tenant: index === 0 ? 'ten,"ant"\nzwei ünï 😀' : "acme",
      costUsd: `0.00000${index}000001`,
      estimated: index % 3 === 0,
    }),
  );
}

describe("ledger retention on Postgres: export, then drop", () => {
  const { schema, cleanup } = pgSchema();
  const archive = tempDir();
  let db: LedgerDb;
  const old = ["2026-08-01", "2026-08-02"];
  const expected = new Map<string, LedgerRow[]>();
  beforeAll(async () => {
    db = await openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema });
    await migrate(db, { schema });
    await ensurePartitions(db, [...old, "2026-12-01"]);
    for (const [day, count] of [
      [old[0]!, 1_234],
      [old[1]!, 7],
      ["2026-12-01", 5],
    ] as const) {
      const batch = rows(day, count);
      expected.set(day, batch);
      const { sql, params } = insertStatement(batch);
      await db.query(sql, params);
    }
  });
  afterAll(async () => {
    await db?.close();
    await cleanup();
    archive.cleanup();
  });

  it("keeps partitions past retention when no archive location is set", async () => {
    const report = await new LedgerMaintenance({ db, logger, schema, clock, retentionDays: 90 }).runOnce();
    expect(report.kept).toEqual(old);
    expect(report.archived).toEqual([]);
    expect(await partitionDays(db)).toEqual(expect.arrayContaining(old));
  });

  it("exports each day past LEDGER_RETENTION_DAYS, drops it only after, and the export holds every dropped row", async () => {
    const maintenance = new LedgerMaintenance({
      db,
      logger,
      schema,
      clock,
      retentionDays: 90,
      rollupRetentionDays: 730,
      archiveDir: archive.dir,
    });
    const report = await maintenance.runOnce();
    expect(report.archived.map(({ day, rows }) => ({ day, rows }))).toEqual([
      { day: old[0], rows: 1_234 },
      { day: old[1], rows: 7 },
    ]);
    const days = await partitionDays(db);
    for (const day of old) expect(days).not.toContain(day);
    expect(days).toContain("2026-12-01");
    const [left] = await db.query<{ raw: number; legacy: number; rollups: number }>(
      `SELECT (SELECT count(*)::int FROM ledger_requests_by_day WHERE day < '2026-09-01') AS raw,
              (SELECT count(*)::int FROM ledger_requests WHERE day < '2026-09-01') AS legacy,
              (SELECT count(*)::int FROM ledger_daily WHERE day < '2026-09-01') AS rollups`,
    );
    // Raw rows gone from both tables; the rollups (two tenants a day) stay for LEDGER_ROLLUP_RETENTION_DAYS.
    expect(left).toEqual({ raw: 0, legacy: 0, rollups: 4 });

    for (const day of old) {
      const file = join(archive.dir, `ledger-${day}.jsonl.gz`);
      const lines = gunzipSync(readFileSync(file)).toString("utf8").trim().split("\n");
      const exported = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const want = expected.get(day)!;
      expect(exported).toHaveLength(want.length);
      const byId = new Map(exported.map((row) => [row["request_id"], row]));
      for (const row of want) {
        expect(byId.get(row.requestId)).toMatchObject({
          day,
          tenant: row.tenant,
          cost_usd: Number(row.costUsd).toFixed(12),
          occurred_at: row.occurredAt.replace(".000Z", ".000000Z"),
          estimated: row.estimated,
          kind: "chat",
        });
      }
      expect(existsSync(`${file}.partial`)).toBe(false);
    }
    // A second run (another replica) finds nothing left to drop.
    expect((await maintenance.runOnce()).archived).toEqual([]);
  });

  it("deletes rollups past LEDGER_ROLLUP_RETENTION_DAYS", async () => {
    const report = await new LedgerMaintenance({
      db,
      logger,
      schema,
      clock,
      rollupRetentionDays: 100,
    }).runOnce();
    expect(report.rollupsDeleted).toBe(4);
    const [left] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_daily");
    expect(left?.n).toBeGreaterThan(0);
  });

  it("npm run ledger:export writes a day as gzip'd CSV with a header", async () => {
    const out = join(archive.dir, "export", "day.csv.gz");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/ledger-export.ts",
        "--day",
        "2026-12-01",
        "--out",
        out,
        "--format",
        "csv",
        "--schema",
        schema,
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ day: "2026-12-01", path: out, rows: 5 });
    const text = gunzipSync(readFileSync(out)).toString("utf8");
    expect(text.split("\n")[0]).toBe(
      "request_id,occurred_at,day,tenant,provider,model,kind,input_tokens,output_tokens,cost_usd,latency_ms,attempts,fallback_used,cache_hit,unpriced,stream,status,client_request_id,estimated",
    );
    // The quoted tenant spans two physical lines; 5 rows + header + that newline + the final newline.
    expect(text.split("\n")).toHaveLength(8);
    expect(text).toContain('"ten,""ant""\nzwei ünï 😀"');
  });
});
