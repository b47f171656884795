import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimatePromptTokens } from "../../../app/budget/estimate";
import { usdStringToPico } from "../../../app/ledger/money";
import {
  type LedgerGateway,
  startLedgerGateway,
  startVendorFakes,
  type VendorFakes,
} from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, REDIS_URL, redisPrefix, TcpProxy } from "../../helpers/real-services";

// Issue 10 item 4: a burst of 100 concurrent paid calls against a small daily
// budget, spread over 1, 2 and 3 replicas sharing Redis, overspends by no more
// than the tokenizer's estimation error.

const BUDGET_USD = "0.05";
const MAX_TOKENS = 100;
const REPORTED_INPUT = 12;
// gpt-4o: $2.50 per million input tokens, $10 per million output tokens, in pico-dollars per token.
const INPUT_PICO = 2_500_000n;

let fakes: VendorFakes;
let sql: Client;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  fakes = await startVendorFakes();
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await sql.end();
  await fakes.close();
});

async function burst(
  replicas: number,
  options: { redisUrl?: string; beforeBurst?: () => Promise<void> } = {},
) {
  const { schema, cleanup } = pgSchema();
  const redis = redisPrefix();
  cleanups.push(cleanup, redis.cleanup);
  const gateways: LedgerGateway[] = [];
  for (let i = 0; i < replicas; i++) {
    gateways.push(
      await startLedgerGateway({
        fakes,
        schema,
        redisPrefix: redis.prefix,
        redisUrl: options.redisUrl,
        env: { AI_DAILY_BUDGET: BUDGET_USD, AI_BUDGET_ENFORCE: "true" },
      }),
    );
  }
  cleanups.push(async () => {
    for (const gateway of gateways) await gateway.close();
  });
  await options.beforeBurst?.();
  fakes.openai.script(
    ...Array.from({ length: 100 }, () => ({
      kind: "answer" as const,
      delayMs: 100,
      usage: { input: REPORTED_INPUT, output: MAX_TOKENS },
    })),
  );
  const statuses = await Promise.all(
    Array.from({ length: 100 }, async (_, index) => {
      const gateway = gateways[index % replicas]!;
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "cache-control": "no-cache" },
        body: JSON.stringify({
          model: "gpt-4o",
          max_tokens: MAX_TOKENS,
          messages: [{ role: "user", content: `question ${index}` }],
        }),
      });
      const text = await response.text();
      if (response.status !== 200 && response.status !== 429) console.info(response.status, text);
      return response.status;
    }),
  );
  for (const gateway of gateways) {
    await gateway.settle();
    await gateway.ledger.writer.flush();
  }
  const result = await sql.query(
    `SELECT count(*)::int AS n, coalesce(sum(cost_usd), 0)::text AS cost FROM ${schema}.ledger_requests`,
  );
  const served = statuses.filter((status) => status === 200).length;
  const refused = statuses.filter((status) => status === 429).length;
  const spent = usdStringToPico(result.rows[0].cost as string);
  return {
    served,
    refused,
    rows: result.rows[0].n as number,
    spent,
    counter: await gateways[0]!.budget.spentPico(),
  };
}

describe("budget reservations under a burst", () => {
  it.each([1, 2, 3])("bounds the overspend of 100 concurrent calls on %i replica(s)", async (replicas) => {
    const { served, refused, rows, spent, counter } = await burst(replicas);
    const budget = usdStringToPico(BUDGET_USD);
    // The only unreserved cost: input tokens the provider counted beyond the estimate.
    const estimated = estimatePromptTokens([{ role: "user", content: "question 99" }]);
    const errorPerCall = BigInt(Math.max(0, REPORTED_INPUT - estimated)) * INPUT_PICO;
    const overspend = spent - budget;
    console.info(
      `reservations: ${replicas} replica(s): served ${served}, refused ${refused}, spent $${Number(spent) / 1e12} of $${BUDGET_USD} (overspend ${((Number(overspend) / Number(budget)) * 100).toFixed(2)} %)`,
    );
    expect(served + refused).toBe(100);
    expect(rows).toBe(served);
    expect(counter).toBe(spent);
    expect(served).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(overspend).toBeLessThanOrEqual(BigInt(served) * errorPerCall);
  });

  it("bounds it with the reservations kept in process while Redis is away", async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const { served, refused, rows, spent } = await burst(1, {
      redisUrl: proxy.rewrite(REDIS_URL),
      beforeBurst: () => proxy.stop(),
    });
    const budget = usdStringToPico(BUDGET_USD);
    const estimated = estimatePromptTokens([{ role: "user", content: "question 99" }]);
    const errorPerCall = BigInt(Math.max(0, REPORTED_INPUT - estimated)) * INPUT_PICO;
    console.info(
      `reservations: Redis away: served ${served}, refused ${refused}, spent $${Number(spent) / 1e12}`,
    );
    expect(served + refused).toBe(100);
    expect(rows).toBe(served);
    expect(refused).toBeGreaterThan(0);
    expect(spent - budget).toBeLessThanOrEqual(BigInt(served) * errorPerCall);
  });
});
