import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, migrate, openLedgerDb } from "../../../app/ledger/db";
import { contractingStatements, MIGRATIONS } from "../../../app/ledger/migrations";
import { insertStatement as currentInsert, type LedgerRow } from "../../../app/ledger/row";
import { insertStatement as previousInsert } from "../../fixtures/ledger/previous-release/row";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

describe("ledger migrations are expand-only", () => {
  it.each(MIGRATIONS.map((migration) => [migration.version, migration.name, migration.sql] as const))(
    "migration %i (%s) only adds",
    (_version, _name, sql) => {
      expect(contractingStatements(sql)).toEqual([]);
    },
  );

  it("names what a contracting migration would break", () => {
    expect(contractingStatements("ALTER TABLE ledger_requests DROP COLUMN tenant")).toEqual([
      "drops something the previous release may read or write",
    ]);
    expect(contractingStatements("ALTER TABLE ledger_requests RENAME COLUMN tenant TO account")).toEqual([
      "renames something the previous release names",
    ]);
    expect(contractingStatements("ALTER TABLE ledger_requests ALTER COLUMN model SET NOT NULL")).toEqual([
      "changes a column's type, default or nullability under the previous release",
    ]);
    expect(contractingStatements("ALTER TABLE ledger_requests ADD COLUMN region TEXT NOT NULL")).toEqual([
      "adds a NOT NULL column without a default, which the previous release's INSERT does not fill",
    ]);
    expect(
      contractingStatements(
        "ALTER TABLE ledger_requests ADD COLUMN IF NOT EXISTS region TEXT NOT NULL DEFAULT 'eu'; CREATE INDEX IF NOT EXISTS x ON ledger_requests (region)",
      ),
    ).toEqual([]);
  });
});

const row = (requestId: string): LedgerRow => ({
  requestId,
  occurredAt: "2026-12-01T10:00:00.000Z",
  day: "2026-12-01",
  tenant: "acme",
  provider: "openai",
  model: "gpt-4o",
  inputTokens: 100,
  outputTokens: 50,
  costUsd: "0.000750000000",
  latencyMs: 420,
  attempts: 1,
  fallbackUsed: false,
  cacheHit: false,
  unpriced: false,
  stream: false,
  status: 200,
});

// Blue-green: the new release migrates the shared database at start while the
// previous one still serves (and takes over again on a rollback).
describe.each([
  ["Postgres", true],
  ["PGlite", false],
])("the previous release's ledger writer on the new schema (%s)", (_kind, postgres) => {
  const { schema, cleanup } = pgSchema();
  const data = tempDir();
  let db: LedgerDb;
  beforeAll(async () => {
    db = await openLedgerDb({
      ...(postgres ? { databaseUrl: DATABASE_URL, schema } : {}),
      dataDir: data.dir,
    });
    await migrate(db, { schema: postgres ? schema : "public" });
    // PGlite's first start takes half a minute on this loaded two-core machine.
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    if (postgres) await cleanup();
    data.cleanup();
  });

  it("inserts its rows after every current migration, and the current code counts them once", async () => {
    const previous = previousInsert([row("req-prev-1"), row("req-prev-2")]);
    await db.query(previous.sql, previous.params);
    // A replay from the previous release's spool stays idempotent.
    await db.query(previous.sql, previous.params);
    const current = currentInsert([row("req-new-1"), row("req-prev-1")]);
    await db.query(current.sql, current.params);
    const [totals] = await db.query<{ n: number; cost: string }>(
      "SELECT count(*)::int AS n, sum(cost_usd)::text AS cost FROM ledger_requests",
    );
    expect(totals).toEqual({ n: 3, cost: "0.002250000000" });
  });
});
