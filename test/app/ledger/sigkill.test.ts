import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openLedgerDb } from "../../../app/ledger/db";
import { addDays, partitionDays } from "../../../app/ledger/partitions";
import { verifyDay } from "../../../app/ledger/verify";
import { ensureBuilt, ROOT } from "../../helpers/built";
import { gatewayProcessEnv, postChat, watchLogs } from "../../helpers/gateway-process";
import { startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

// Issue 10 item 6: a SIGKILL of the real built gateway under load loses no ledger row.

const { schema, cleanup: dropSchema } = pgSchema();
const data = tempDir();
let fakes: VendorFakes;
let sql: Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  fakes = await startVendorFakes();
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await fakes.close();
  await sql.end();
  await dropSchema();
  data.cleanup();
});

/** Starts dist/app/server.js on an ephemeral port with the ledger in this test's schema. */
async function startBuilt(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(ROOT, "dist/app/server.js")], {
    env: gatewayProcessEnv(fakes, schema, data.dir),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return { child, port: await watchLogs(child).listening };
}

/** POSTs a chat request with its own x-request-id; resolves with the status, or 0 if the connection died. */
function post(port: number, requestId: string): Promise<number> {
  return postChat(
    port,
    { model: "gpt-4o", messages: [{ role: "user", content: requestId }] },
    { "x-request-id": requestId },
  );
}

describe("SIGKILL", () => {
  it("loses no ledger row of an answered request: the journal is replayed at the next start", async () => {
    const first = await startBuilt();
    const answered: string[] = [];
    let killed = false;
    let next = 0;
    // 20 clients in a loop until the process is killed mid-load.
    const clients = Array.from({ length: 20 }, async () => {
      while (!killed) {
        const id = `kill-${next++}`;
        if ((await post(first.port, id)) === 200) answered.push(id);
      }
    });
    while (answered.length < 300) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(first.child, "exit");
    first.child.kill("SIGKILL");
    killed = true;
    await exited;
    await Promise.all(clients);
    const beforeRestart = await sql.query(`SELECT count(*)::int AS n FROM ${schema}.ledger_requests`);

    const second = await startBuilt();
    const rows = await sql.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE client_request_id = ANY($1))::int AS answered
         FROM ${schema}.ledger_requests`,
      [answered],
    );
    console.info(
      `sigkill: ${answered.length} answered, ${beforeRestart.rows[0].n} rows before restart, ${rows.rows[0].answered} of them after`,
    );
    expect(rows.rows[0].answered).toBe(answered.length);
    // Never more rows than upstream calls served.
    expect(rows.rows[0].n).toBeLessThanOrEqual(fakes.openai.chatRequests().length);
    // The journal replay went through the rollups too, and the gateway's maintenance task
    // (started by main.ts) has made the partitions of today and the days ahead.
    const db = await openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema });
    try {
      const today = new Date().toISOString().slice(0, 10);
      expect(await verifyDay(db, today)).toMatchObject({ ok: true, rows: rows.rows[0].n });
      await vi.waitFor(async () => expect(await partitionDays(db)).toContain(addDays(today, 3)), {
        timeout: 30_000,
        interval: 200,
      });
    } finally {
      await db.close();
    }
    const exit = once(second.child, "exit");
    second.child.kill("SIGTERM");
    await exit;
  });
});
