import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../helpers/built";
import { gatewayProcessEnv, postChat, watchLogs } from "../../helpers/gateway-process";
import { startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
const data = tempDir();
let fakes: VendorFakes;
let sql: Client;
let child: ChildProcess | undefined;

beforeAll(async () => {
  fakes = await startVendorFakes();
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await fakes.close();
  await sql.end();
  await dropSchema();
  data.cleanup();
});

describe("SIGTERM", () => {
  it("drains requests in flight and writes every one of their ledger rows before exiting", async () => {
    child = spawn(process.execPath, [join(ROOT, "dist/app/server.js")], {
      env: gatewayProcessEnv(fakes, schema, data.dir),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs = watchLogs(child);
    const port = await logs.listening;
    const exited = once(child, "exit");

    const count = 30;
    fakes.openai.script(
      ...Array.from({ length: count }, () => ({
        kind: "answer" as const,
        delayMs: 300,
        usage: { input: 100, output: 50 },
      })),
    );
    const responses = Array.from({ length: count }, (_, index) =>
      postChat(port, { model: "gpt-4o", messages: [{ role: "user", content: `question ${index}` }] }),
    );
    // Every request is upstream, none answered yet: the rows do not exist anywhere.
    await fakes.openai.waitForRequests(count);
    child.kill("SIGTERM");

    const statuses = await Promise.all(responses);
    expect(statuses).toEqual(Array.from({ length: count }, () => 200));
    const [code] = await exited;
    expect(code).toBe(0);
    const rows = await sql.query(
      `SELECT count(DISTINCT request_id)::int AS n, sum(cost_usd)::text AS cost FROM ${schema}.ledger_requests`,
    );
    // gpt-4o: 100 input at $2.50/M + 50 output at $10/M = $0.00075 each.
    expect(rows.rows[0]).toEqual({ n: count, cost: "0.022500000000" });
    // The drain ran as a shutdown hook, before the process exited, with nothing left behind.
    const drained = logs.records.find((record) => record["msg"] === "ledger drained");
    expect(drained).toMatchObject({ spooled: 0, spooling: false });
    const order = logs.records.map((record) => record["msg"]);
    // Every connection closed once its answer was sent: the drain never hit its deadline.
    expect(order).toContain("shutdown complete");
    expect(order).not.toContain("shutdown deadline reached; closing remaining connections");
  });
});
