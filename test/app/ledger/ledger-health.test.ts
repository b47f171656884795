import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeps, type ShutdownHook } from "../../../app/main";
import { createLogger } from "../../../app/observability/logger";
import { createApp } from "../../../app/server";
import { LogCapture, testConfig } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";
import { mainLedgerEnv, startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, TcpProxy, tempDir } from "../../helpers/real-services";

// Issue 10: /health shows the ledger's state, as main.ts wires it.

const { schema, cleanup } = pgSchema();
const data = tempDir();
const proxy = TcpProxy.forUrl(DATABASE_URL);
let fakes: VendorFakes;
let server: Listening;
let hooks: ShutdownHook[] = [];
let ledgerOf: () => NonNullable<Awaited<ReturnType<typeof buildDeps>>["deps"]["ledger"]>;

beforeAll(async () => {
  const sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.end();
  await proxy.start();
  fakes = await startVendorFakes();
  const env = mainLedgerEnv(fakes, proxy.rewrite(DATABASE_URL), schema, data.dir);
  const built = await buildDeps(
    testConfig(env),
    createLogger({ level: "warn", destination: new LogCapture() }),
    env,
  );
  hooks = built.hooks;
  ledgerOf = () => built.deps.ledger!;
  server = await listen(createApp(built.deps));
});
afterAll(async () => {
  await server.close();
  for (const hook of hooks.reverse()) await hook();
  await proxy.stop();
  await fakes.close();
  await cleanup();
  data.cleanup();
});

async function health(): Promise<{ status: number; ledger: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/health`);
  const body = (await response.json()) as { checks: Record<string, Record<string, unknown>> };
  return { status: response.status, ledger: body.checks["ledger"]! };
}

describe("/health and the ledger", () => {
  it("reports the ledger up, then down with its spool depth while the database is away, then up again", async () => {
    expect((await health()).ledger).toMatchObject({
      status: "up",
      spooling: false,
      spoolDepth: 0,
      deadLettered: 0,
    });

    await proxy.stop();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(200);
    await ledgerOf().writer.flush();
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.ledger).toMatchObject({
      status: "down",
      error: "ledger database unreachable: 1 rows spooled, 0 dead-lettered",
    });

    await proxy.start();
    await ledgerOf().writer.replay();
    expect((await health()).ledger).toMatchObject({ status: "up", spoolDepth: 0 });
  });
});
