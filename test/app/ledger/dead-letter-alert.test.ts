import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeps, type ShutdownHook } from "../../../app/main";
import { createLogger } from "../../../app/observability/logger";
import { LogCapture, testConfig } from "../../helpers/deps";
import { ledgerRow } from "../../helpers/events";
import { mainLedgerEnv, startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

// Issue 10: a dead-lettered ledger row raises one alert through ALERT_WEBHOOK_URL, as main.ts wires it,
// carrying only the count and the reason class (never the row, never a secret).

const { schema, cleanup } = pgSchema();
const data = tempDir();
const logs = new LogCapture();
const posts: Record<string, unknown>[] = [];
const rawPosts: string[] = [];
let firstPost: Promise<void>;
let receiver: Server;
let fakes: VendorFakes;
let hooks: ShutdownHook[] = [];
let ledger: NonNullable<Awaited<ReturnType<typeof buildDeps>>["deps"]["ledger"]>;

// Client text Postgres refuses (NUL is SQLSTATE 22P05), as an earlier release could have spooled it.
const poison = [
  ledgerRow({ model: "leak-model\u0000canary", tenant: "tenant-canary-7" }),
  ledgerRow({ tenant: "leak\u0000tenant-canary-8" }),
];
const good = ledgerRow();

beforeAll(async () => {
  const sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.end();
  let received: () => void = () => {};
  firstPost = new Promise((resolve) => {
    received = resolve;
  });
  receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      rawPosts.push(body);
      posts.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
      received();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;
  // The start-up replay meets two poison lines before the alert sink could be built any later.
  const spoolDir = join(data.dir, "ledger-spool");
  mkdirSync(spoolDir, { recursive: true });
  writeFileSync(
    join(spoolDir, "replay-1-aaaa.jsonl"),
    `${[poison[0], good, poison[1]].map((row) => JSON.stringify(row)).join("\n")}\n`,
  );
  fakes = await startVendorFakes();
  const env = {
    ...mainLedgerEnv(fakes, DATABASE_URL, schema, data.dir),
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/ai`,
  };
  const built = await buildDeps(testConfig(env), createLogger({ level: "warn", destination: logs }), env);
  hooks = built.hooks;
  ledger = built.deps.ledger!;
});
afterAll(async () => {
  for (const hook of hooks.reverse()) await hook();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await fakes.close();
  await cleanup();
  data.cleanup();
});

/** Alerts the sink raised for the ledger (it logs each one synchronously before POSTing it). */
function ledgerAlertsRaised(): number {
  return logs.records().filter((r) => (r.alert as { source?: string } | undefined)?.source === "ledger")
    .length;
}

describe("a dead-lettered ledger row", () => {
  it("raises one alert on the webhook with the count and reason class only, once per process", async () => {
    await firstPost;
    expect(ledger.deadLetters.count).toBe(2);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      source: "ledger",
      severity: "critical",
      service: "ai-gateway",
      details: { deadLettered: 1, reason: "data_exception" },
    });
    // Nothing of the rows, nor the database's message, nor any key reaches the receiver.
    for (const secret of [
      "canary",
      poison[0]!.requestId,
      poison[1]!.requestId,
      "22P05",
      "sk-test-openai-1",
      DATABASE_URL,
    ]) {
      expect(rawPosts[0]).not.toContain(secret);
    }
    // A later row dead-lettered by the same process is counted and logged, but raises no second alert.
    ledger.writer.write(ledgerRow({ model: "again\u0000canary" }));
    await ledger.writer.flush();
    expect(ledger.deadLetters.count).toBe(3);
    expect(ledgerAlertsRaised()).toBe(1);
  });
});
