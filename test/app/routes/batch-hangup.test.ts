import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LedgerGateway,
  startLedgerGateway,
  startVendorFakes,
  type VendorFakes,
} from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, redisPrefix } from "../../helpers/real-services";

// Issue 10 item 7: a client hanging up on a batch cancels the items not yet started.

const { schema, cleanup } = pgSchema();
const redis = redisPrefix();
let sql: Client;
let fakes: VendorFakes;
let gateway: LedgerGateway;

beforeAll(async () => {
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  fakes = await startVendorFakes();
  gateway = await startLedgerGateway({ fakes, schema, redisPrefix: redis.prefix });
});
afterAll(async () => {
  await gateway.close();
  await fakes.close();
  await sql.end();
  await cleanup();
  await redis.cleanup();
});

describe("batch and a client hang-up", () => {
  it("never starts the items waiting behind the running ones once the client has gone", async () => {
    fakes.openai.reset();
    // 20 items, 5 at a time (the default batchConcurrency); each answer takes 400 ms.
    fakes.openai.script(...Array.from({ length: 20 }, () => ({ kind: "answer" as const, delayMs: 400 })));
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/v1/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "hangup-batch" },
      body: JSON.stringify({
        requests: Array.from({ length: 20 }, (_, index) => ({
          model: "gpt-4o",
          messages: [{ role: "user", content: `item ${index}` }],
        })),
      }),
      signal: controller.signal,
    }).catch(() => undefined);
    await fakes.openai.waitForRequests(5);
    controller.abort();
    await pending;
    // Long enough for every remaining item to have started, had the batch gone on.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(fakes.openai.chatRequests().length).toBe(5);
    await gateway.ledger.writer.flush();
    const rows = await sql.query(
      `SELECT count(*)::int AS n FROM ${schema}.ledger_requests WHERE client_request_id LIKE 'hangup-batch:%'`,
    );
    expect(rows.rows[0].n).toBeLessThanOrEqual(5);
    fakes.openai.reset();
  });
});
