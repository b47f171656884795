import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, migrate, openLedgerDb } from "../../../app/ledger/db";
import { LedgerMaintenance } from "../../../app/ledger/maintenance";
import { MIGRATIONS } from "../../../app/ledger/migrations";
import { DEFAULT_PARTITION, ensurePartitions, partitionDays } from "../../../app/ledger/partitions";
import { insertStatement, type LedgerRow } from "../../../app/ledger/row";
import { verifyDay } from "../../../app/ledger/verify";
import { createLogger } from "../../../app/observability/logger";
import { insertStatement as previousInsert } from "../../fixtures/ledger/previous-release/row";
import { LogCapture } from "../../helpers/deps";
import { ledgerRow } from "../../helpers/events";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

const logger = createLogger({ level: "debug", destination: new LogCapture() });

function rowOn(day: string, id: string, overrides: Partial<LedgerRow> = {}): LedgerRow {
  return ledgerRow({
    requestId: id,
    occurredAt: `${day}T12:00:00.000Z`,
    day,
    tenant: id.endsWith("1") ? "acme" : "globex",
    inputTokens: 100,
    outputTokens: 50,
    costUsd: "0.000750000001",
    ...overrides,
  });
}

async function rollupTotals(db: LedgerDb) {
  const [totals] = await db.query<{ requests: string; cost: string; cache_hits: string; input: string }>(
    `SELECT sum(requests)::text AS requests, sum(cost_usd)::text AS cost, sum(cache_hits)::text AS cache_hits,
            sum(input_tokens)::text AS input FROM ledger_daily`,
  );
  return totals;
}

describe.each([
  ["Postgres", true],
  ["PGlite", false],
])("ledger partitions and rollups (%s)", (_kind, postgres) => {
  const { schema, cleanup } = pgSchema();
  const data = tempDir();
  const schemaOption = postgres ? schema : "public";
  let db: LedgerDb;
  beforeAll(async () => {
    db = await openLedgerDb({
      ...(postgres ? { databaseUrl: DATABASE_URL, schema } : {}),
      dataDir: data.dir,
    });
    // PGlite's first start takes half a minute on this loaded two-core machine.
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    if (postgres) await cleanup();
    data.cleanup();
  });

  it("moves an existing unpartitioned table into day partitions and rollups without losing or double-counting a row", async () => {
    // The schema as the previous release left it, with its rows.
    await migrate(db, { schema: schemaOption, migrations: MIGRATIONS.filter((m) => m.version <= 2) });
    const days = ["2026-11-29", "2026-11-30", "2026-12-01"];
    const before = days.flatMap((day) =>
      Array.from({ length: 40 }, (_, index) =>
        rowOn(day, `old-${day}-${index}`, {
          cacheHit: index % 10 === 0,
          costUsd: index % 10 === 0 ? "0" : "0.000750000001",
        }),
      ),
    );
    const previous = previousInsert(before);
    await db.query(previous.sql, previous.params);

    expect(await migrate(db, { schema: schemaOption })).toEqual([3]);

    expect(await partitionDays(db)).toEqual(days);
    const [counts] = await db.query<{ legacy: number; partitioned: number; in_default: number }>(
      `SELECT (SELECT count(*)::int FROM ledger_requests) AS legacy,
              (SELECT count(*)::int FROM ledger_requests_by_day) AS partitioned,
              (SELECT count(*)::int FROM ${DEFAULT_PARTITION}) AS in_default`,
    );
    expect(counts).toEqual({ legacy: 120, partitioned: 120, in_default: 0 });
    // 108 priced rows at 0.000750000001, 12 cache hits at 0; tokens of cache hits do not count.
    expect(await rollupTotals(db)).toEqual({
      requests: "120",
      cost: "0.081000000108",
      cache_hits: "12",
      input: "10800",
    });
    for (const day of days) expect((await verifyDay(db, day)).differences).toEqual([]);

    // The previous release keeps writing after the migration (blue-green overlap or rollback):
    // its new rows are forwarded and counted, and its replays are not counted again.
    const later = previousInsert([rowOn("2026-12-01", "late-1"), ...before.slice(0, 5)]);
    await db.query(later.sql, later.params);
    await db.query(later.sql, later.params);
    // This release's writer, with the kind column.
    const current = insertStatement([rowOn("2026-12-01", "embed-1", { kind: "embedding" }), before[6]!]);
    await db.query(current.sql, current.params);
    await db.query(current.sql, current.params);

    const report = await verifyDay(db, "2026-12-01");
    expect(report).toMatchObject({ rows: 42, legacyRows: 42, ok: true });
    const kinds = await db.query<{ kind: string; requests: string }>(
      "SELECT kind, sum(requests)::text AS requests FROM ledger_daily WHERE day = '2026-12-01' GROUP BY kind ORDER BY kind",
    );
    expect(kinds).toEqual([
      { kind: "chat", requests: "41" },
      { kind: "embedding", requests: "1" },
    ]);
  });

  it("creates tomorrow's partition before midnight UTC, so a row just after midnight lands in it", async () => {
    const maintenance = new LedgerMaintenance({
      db,
      logger,
      schema: schemaOption,
      clock: { now: () => Date.parse("2026-12-02T23:59:30.000Z") },
      aheadDays: 2,
    });
    const report = await maintenance.runOnce();
    expect(report.created).toEqual(["2026-12-02", "2026-12-03", "2026-12-04"]);
    // Idempotent: the next run (or another replica) finds nothing to create.
    expect((await maintenance.runOnce()).created).toEqual([]);

    const row = rowOn("2026-12-03", "after-midnight-1", { occurredAt: "2026-12-03T00:00:10.000Z" });
    const { sql, params } = insertStatement([row]);
    await db.query(sql, params);
    const [stored] = await db.query<{ partition: string }>(
      "SELECT tableoid::regclass::text AS partition FROM ledger_requests_by_day WHERE request_id = $1",
      [row.requestId],
    );
    expect(stored?.partition).toMatch(/(^|\.)ledger_requests_by_day_20261203$/);
  });

  it("keeps a row whose day has no partition in the default one, and moves it when that day's partition is created", async () => {
    const row = rowOn("2031-01-15", "far-future-1");
    const { sql, params } = insertStatement([row]);
    await db.query(sql, params);
    const where = async () =>
      (
        await db.query<{ partition: string }>(
          "SELECT tableoid::regclass::text AS partition FROM ledger_requests_by_day WHERE request_id = $1",
          [row.requestId],
        )
      ).map((r) => r.partition.replace(/^.*\./, ""));
    expect(await where()).toEqual([DEFAULT_PARTITION]);
    expect(await ensurePartitions(db, ["2031-01-15"])).toEqual(["2031-01-15"]);
    expect(await where()).toEqual(["ledger_requests_by_day_20310115"]);
    expect(await verifyDay(db, "2031-01-15")).toMatchObject({ rows: 1, legacyRows: 1, ok: true });
  });
});

describe("the move of an existing table while the previous release keeps writing (Postgres)", () => {
  const { schema, cleanup } = pgSchema();
  afterAll(cleanup);

  it("loses and double-counts no row written during the migration", async () => {
    const migrator = await openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema });
    const writer = await openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema });
    try {
      await migrate(migrator, { schema, migrations: MIGRATIONS.filter((m) => m.version <= 2) });
      const seed = previousInsert(
        Array.from({ length: 2_000 }, (_, index) => rowOn("2026-11-30", `seed-${index}`)),
      );
      await writer.query(seed.sql, seed.params);
      let written = 2_000;
      let migrating = true;
      const writing = (async () => {
        for (let batch = 0; migrating || batch < 5; batch++) {
          const rows = Array.from({ length: 50 }, (_, index) =>
            rowOn("2026-12-01", `during-${batch}-${index}`),
          );
          const insert = previousInsert(rows);
          await writer.query(insert.sql, insert.params);
          written += rows.length;
        }
      })();
      await migrate(migrator, { schema });
      migrating = false;
      await writing;
      const [counts] = await migrator.query<{ legacy: number; partitioned: number; rolled: number }>(
        `SELECT (SELECT count(*)::int FROM ledger_requests) AS legacy,
                (SELECT count(*)::int FROM ledger_requests_by_day) AS partitioned,
                (SELECT sum(requests)::int FROM ledger_daily) AS rolled`,
      );
      expect(counts).toEqual({ legacy: written, partitioned: written, rolled: written });
      expect((await verifyDay(migrator, "2026-12-01")).ok).toBe(true);
      expect((await verifyDay(migrator, "2026-11-30")).ok).toBe(true);
    } finally {
      await writer.close();
      await migrator.close();
    }
  }, 60_000);
});
