import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLedgerGateway, startVendorFakes, type VendorFakes } from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, REDIS_URL, redisPrefix, TcpProxy } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
const keys = redisPrefix();
let fakes: VendorFakes;
let sql: Client;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  fakes = await startVendorFakes();
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await fakes.close();
  await sql.end();
  await dropSchema();
  await keys.cleanup();
});

const body = (content: string) => ({ model: "gpt-4o", messages: [{ role: "user", content }] });

async function post(url: string, payload: unknown): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
}

describe("chat through data-service outages", () => {
  it("serves 100 requests while Postgres is unreachable and records exactly 100 rows once it returns", async () => {
    const proxy = TcpProxy.forUrl(DATABASE_URL);
    await proxy.start();
    closers.push(() => proxy.stop());
    const gw = await startLedgerGateway({
      fakes,
      schema,
      redisPrefix: keys.prefix,
      databaseUrl: proxy.rewrite(DATABASE_URL),
      env: { AI_CACHE_ENABLED: "false" },
    });
    closers.push(gw.close);
    await proxy.stop();

    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => post(gw.url, body(`outage ${batch}-${i}`))),
      );
      for (const response of responses) {
        expect(response.status).toBe(200);
        ids.push(response.headers.get("x-request-id")!);
      }
    }
    await gw.ledger.writer.flush();
    expect(gw.ledger.writer.spooling).toBe(true);

    await proxy.start();
    await gw.ledger.writer.replay();
    const rows = await sql.query(
      `SELECT count(*)::int AS n, count(DISTINCT client_request_id)::int AS distinct_ids FROM ${schema}.ledger_requests WHERE client_request_id = ANY($1)`,
      [ids],
    );
    expect(rows.rows[0]).toEqual({ n: 100, distinct_ids: 100 });
    // Replaying again (as after a crash mid-replay) adds nothing.
    await gw.ledger.writer.replay();
    const again = await sql.query(
      `SELECT count(*)::int AS n FROM ${schema}.ledger_requests WHERE client_request_id = ANY($1)`,
      [ids],
    );
    expect(again.rows[0]).toEqual({ n: 100 });
  });

  it("serves uncached while Redis is down, with a log line, and caches again when it returns", async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    closers.push(() => proxy.stop());
    const gw = await startLedgerGateway({
      fakes,
      schema,
      redisPrefix: keys.prefix,
      redisUrl: proxy.rewrite(REDIS_URL),
    });
    closers.push(gw.close);
    await proxy.stop();

    const question = body(`redis outage ${Math.random()}`);
    const before = fakes.openai.chatRequests().length;
    const down = [await post(gw.url, question), await post(gw.url, question)];
    expect(down.map((r) => [r.status, r.headers.get("x-ai-cache")])).toEqual([
      [200, "miss"],
      [200, "miss"],
    ]);
    expect(fakes.openai.chatRequests().length - before).toBe(2);
    expect(gw.logs.records().some((r) => r["msg"] === "response cache unavailable; serving uncached")).toBe(
      true,
    );

    await proxy.start();
    await expect
      .poll(
        async () => {
          await post(gw.url, question);
          return (await post(gw.url, question)).headers.get("x-ai-cache");
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe("hit");
    expect(gw.logs.records().some((r) => r["msg"] === "response cache available again")).toBe(true);
  });
});
