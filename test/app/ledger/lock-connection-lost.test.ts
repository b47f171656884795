import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLedgerDb } from "../../../app/ledger/db";
import { DATABASE_URL, pgSchema, TcpProxy } from "../../helpers/real-services";

// The full suite caught an uncaught 'Connection terminated unexpectedly' while the database was cut
// (test/app/ledger/ledger-health.test.ts): a client checked out for an advisory lock had no error
// listener, so losing its connection would crash the gateway instead of failing that one task.
const { schema, cleanup } = pgSchema();
const proxy = TcpProxy.forUrl(DATABASE_URL);

beforeAll(async () => {
  const sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.end();
  await proxy.start();
});
afterAll(async () => {
  await proxy.stop();
  await cleanup();
});

describe("a connection lost under the ledger's advisory lock", () => {
  it("fails the locked work with an error, emits nothing uncaught, and the next lock works", async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    const db = await openLedgerDb({ databaseUrl: proxy.rewrite(DATABASE_URL), dataDir: "unused", schema });
    try {
      const locked = db.withAdvisoryLock(4242, async (tx) => {
        await tx.query("SELECT 1");
        await proxy.stop();
        await tx.query("SELECT pg_sleep(0.2)");
      });
      await expect(locked).rejects.toThrow();
      // Let the socket's close events run before looking.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(uncaught).toEqual([]);
      await proxy.start();
      await expect(db.withAdvisoryLock(4242, async (tx) => tx.query("SELECT 1 AS one"))).resolves.toEqual([
        { one: 1 },
      ]);
    } finally {
      process.off("uncaughtException", record);
      await db.close();
    }
  });
});
