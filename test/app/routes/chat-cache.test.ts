import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LedgerGateway,
  startLedgerGateway,
  startVendorFakes,
  type VendorFakes,
} from "../../helpers/ledger-gateway";
import { DATABASE_URL, pgSchema, redisPrefix } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
const keys = redisPrefix();
let fakes: VendorFakes;
let sql: Client;
let gw: LedgerGateway;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  fakes = await startVendorFakes();
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  gw = await startLedgerGateway({ fakes, schema, redisPrefix: keys.prefix });
  closers.push(gw.close);
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await fakes.close();
  await sql.end();
  await dropSchema();
  await keys.cleanup();
});

async function ledgerRow(requestId: string | null): Promise<Record<string, unknown> | undefined> {
  await gw.ledger.writer.flush();
  const result = await sql.query(`SELECT * FROM ${schema}.ledger_requests WHERE client_request_id = $1`, [
    requestId,
  ]);
  return result.rows[0];
}

const prompt = (): ChatCompletionMessageParam[] => [
  { role: "user", content: `question ${Math.random().toString(36).slice(2)}` },
];

/** POSTs a chat request with raw fetch, for headers the SDK does not let us set per call. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("chat completions with the response cache and the ledger", () => {
  it("answers a miss from upstream, then the same request from the cache, recorded at zero cost", async () => {
    const messages = prompt();
    fakes.openai.script({ kind: "answer", text: "Paris.", usage: { input: 1000, output: 2000 } });
    const first = await gw.client.chat.completions.create({ model: "gpt-4o", messages }).withResponse();
    const second = await gw.client.chat.completions.create({ model: "gpt-4o", messages }).withResponse();
    expect(first.response.headers.get("x-ai-cache")).toBe("miss");
    expect(second.response.headers.get("x-ai-cache")).toBe("hit");
    expect(second.response.headers.get("x-ai-provider")).toBe("openai");
    expect(second.response.headers.get("x-ai-attempts")).toBe("0");
    expect(second.data).toEqual(first.data);
    expect(await ledgerRow(first.response.headers.get("x-request-id"))).toMatchObject({
      cache_hit: false,
      cost_usd: "0.022500000000",
      input_tokens: 1000,
      output_tokens: 2000,
    });
    expect(await ledgerRow(second.response.headers.get("x-request-id"))).toMatchObject({
      cache_hit: true,
      cost_usd: "0.000000000000",
      provider: "openai",
      model: "gpt-4o",
      attempts: 0,
    });
  });

  it("bypasses the lookup on Cache-Control: no-cache and still stores the fresh answer", async () => {
    const body = { model: "gpt-4o", messages: prompt() };
    fakes.openai.script({ kind: "answer", text: "old" }, { kind: "answer", text: "new" });
    await post(body);
    const bypass = await post(body, { "cache-control": "no-cache" });
    expect(bypass.headers.get("x-ai-cache")).toBe("bypass");
    expect(
      ((await bypass.json()) as { choices: [{ message: { content: string } }] }).choices[0].message.content,
    ).toBe("new");
    const hit = await post(body);
    expect(hit.headers.get("x-ai-cache")).toBe("hit");
    expect(
      ((await hit.json()) as { choices: [{ message: { content: string } }] }).choices[0].message.content,
    ).toBe("new");
  });

  it("neither looks up nor stores on Cache-Control: no-store", async () => {
    const body = { model: "gpt-4o", messages: prompt() };
    const before = fakes.openai.chatRequests().length;
    const first = await post(body, { "cache-control": "no-store" });
    const second = await post(body);
    expect(first.headers.get("x-ai-cache")).toBe("bypass");
    expect(second.headers.get("x-ai-cache")).toBe("miss");
    expect(fakes.openai.chatRequests().length - before).toBe(2);
  });

  it("fails when x-ai-cache-ttl is not a whole number of seconds with 400, before any upstream call", async () => {
    const before = fakes.openai.chatRequests().length;
    const response = await post({ model: "gpt-4o", messages: prompt() }, { "x-ai-cache-ttl": "forever" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: "x-ai-cache-ttl must be a whole number of seconds from 0 to 604800",
        type: "invalid_request_error",
        code: "invalid_cache_ttl",
      },
    });
    expect(fakes.openai.chatRequests().length).toBe(before);
  });

  it("serves identical batch items and jobs through the same cache: one upstream call, hits at zero cost", async () => {
    const body = { model: "gpt-4o", messages: prompt() };
    const before = fakes.openai.chatRequests().length;
    fakes.openai.script({ kind: "answer", text: "cached for batch", usage: { input: 100, output: 10 } });
    const batch = await fetch(`${gw.url}/v1/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requests: [body, body] }),
    });
    expect(batch.status).toBe(200);
    const { results } = (await batch.json()) as {
      results: { success: boolean; response: { choices: [{ message: { content: string } }] } }[];
    };
    expect(results.map((r) => [r.success, r.response.choices[0].message.content])).toEqual([
      [true, "cached for batch"],
      [true, "cached for batch"],
    ]);
    expect(fakes.openai.chatRequests().length - before).toBe(1);
    const batchId = batch.headers.get("x-request-id");
    const rows = [await ledgerRow(`${batchId}:0`), await ledgerRow(`${batchId}:1`)];
    expect(rows.filter((row) => row?.["cache_hit"] === false)).toHaveLength(1);
    expect(rows.find((row) => row?.["cache_hit"] === true)).toMatchObject({ cost_usd: "0.000000000000" });

    // A job and a chat request with the same body hit the entry the batch stored.
    const job = await fetch(`${gw.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const { id } = (await job.json()) as { id: string };
    await expect
      .poll(
        async () => ((await (await fetch(`${gw.url}/v1/jobs/${id}`)).json()) as { status: string }).status,
      )
      .toBe("completed");
    expect(await ledgerRow(id)).toMatchObject({ cache_hit: true, cost_usd: "0.000000000000" });
    expect((await post(body)).headers.get("x-ai-cache")).toBe("hit");
    expect(fakes.openai.chatRequests().length - before).toBe(1);
  });

  it("makes one upstream call for 20 identical concurrent requests", async () => {
    const messages = prompt();
    const before = fakes.openai.chatRequests().length;
    fakes.openai.script({ kind: "answer", text: "one answer for all", delayMs: 100 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        gw.client.chat.completions.create({ model: "gpt-4o", messages }).withResponse(),
      ),
    );
    expect(fakes.openai.chatRequests().length - before).toBe(1);
    expect(new Set(responses.map((r) => r.data.choices[0]?.message.content))).toEqual(
      new Set(["one answer for all"]),
    );
    const statuses = responses.map((r) => r.response.headers.get("x-ai-cache"));
    expect(statuses.filter((status) => status === "miss")).toHaveLength(1);
    expect(statuses.filter((status) => status === "hit")).toHaveLength(19);
    const rows = await Promise.all(responses.map((r) => ledgerRow(r.response.headers.get("x-request-id"))));
    expect(rows.filter((row) => row?.["cache_hit"] === false)).toHaveLength(1);
    expect(
      rows.filter((row) => row?.["cache_hit"] === true && row["cost_usd"] === "0.000000000000"),
    ).toHaveLength(19);
  });

  it("caches a streamed answer once complete and replays it as a well-formed SSE stream and as JSON", async () => {
    const messages = prompt();
    fakes.openai.script({
      kind: "answer",
      chunks: ["The capital ", "of France ", "is Paris."],
      usage: { input: 7, output: 9 },
    });
    const read = async () => {
      const { data: stream, response } = await gw.client.chat.completions
        .create({ model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } })
        .withResponse();
      let text = "";
      let usage: unknown;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, cache: response.headers.get("x-ai-cache") };
    };
    const live = await read();
    const replayed = await read();
    expect(live).toEqual({
      text: "The capital of France is Paris.",
      usage: { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 },
      cache: "miss",
    });
    expect(replayed).toEqual({ ...live, cache: "hit" });
    const raw = await post({ model: "gpt-4o", messages, stream: true });
    const text = await raw.text();
    expect(raw.headers.get("content-type")).toContain("text/event-stream");
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).not.toContain('"usage":{');
    const json = await gw.client.chat.completions.create({ model: "gpt-4o", messages }).withResponse();
    expect(json.response.headers.get("x-ai-cache")).toBe("hit");
    expect(json.data.choices[0]?.message.content).toBe("The capital of France is Paris.");
  });

  it.each([
    ["OpenAI-compatible", "openai" as const, "openai/gpt-4o", "0.022500000000"],
    ["Anthropic", "claude" as const, "claude/claude-3-haiku-20240307", "0.002750000000"],
    ["Gemini", "gemini" as const, "gemini/gemini-1.5-flash", "0.000675000000"],
  ])(
    "prices a streamed %s answer from the usage reported in the stream",
    async (_format, vendor, model, cost) => {
      fakes[vendor].script({ kind: "answer", chunks: ["a", "b", "c"], usage: { input: 1000, output: 2000 } });
      const response = await post(
        { model, messages: prompt(), stream: true },
        { "cache-control": "no-store" },
      );
      expect(response.status).toBe(200);
      expect((await response.text()).endsWith("data: [DONE]\n\n")).toBe(true);
      expect(await ledgerRow(response.headers.get("x-request-id"))).toMatchObject({
        provider: vendor,
        stream: true,
        input_tokens: 1000,
        output_tokens: 2000,
        cost_usd: cost,
        cache_hit: false,
        unpriced: false,
      });
    },
  );
});

describe("daily budget through HTTP", () => {
  const paid = (instance: LedgerGateway, messages: ChatCompletionMessageParam[]) => {
    fakes.openai.script({ kind: "answer", text: "paid", usage: { input: 1000, output: 2000 } });
    return instance.client.chat.completions
      .create({ model: "gpt-4o", messages, max_tokens: 2000 })
      .withResponse();
  };

  it("refuses paid calls with 429 and Retry-After once spent, and still serves cache hits", async () => {
    const own = pgSchema();
    const ownKeys = redisPrefix();
    const budgeted = await startLedgerGateway({
      fakes,
      schema: own.schema,
      redisPrefix: ownKeys.prefix,
      env: { AI_DAILY_BUDGET: "0.05", AI_BUDGET_ENFORCE: "true" },
    });
    closers.push(own.cleanup, ownKeys.cleanup, budgeted.close);
    const cached = prompt();
    // $0.0225 each, reserving about $0.02 (2000 output tokens): the second fits
    // ($0.0225 spent + $0.02 reserved), a third would not ($0.045 + $0.02).
    for (const messages of [cached, prompt()]) {
      await paid(budgeted, messages);
      await budgeted.settle();
    }
    const refused = await fetch(`${budgeted.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: prompt(), max_tokens: 2000 }),
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe("budget_exceeded");
    const hit = await budgeted.client.chat.completions
      .create({ model: "gpt-4o", messages: cached, max_tokens: 2000 })
      .withResponse();
    expect(hit.response.headers.get("x-ai-cache")).toBe("hit");
  });

  it("holds one budget across two gateway instances sharing Redis and Postgres", async () => {
    const own = pgSchema();
    const ownKeys = redisPrefix();
    const env = { AI_DAILY_BUDGET: "0.05", AI_BUDGET_ENFORCE: "true" };
    const a = await startLedgerGateway({ fakes, schema: own.schema, redisPrefix: ownKeys.prefix, env });
    const b = await startLedgerGateway({ fakes, schema: own.schema, redisPrefix: ownKeys.prefix, env });
    closers.push(own.cleanup, ownKeys.cleanup, a.close, b.close);
    let served = 0;
    let refused = 0;
    for (let i = 0; i < 6; i++) {
      const instance = i % 2 === 0 ? a : b;
      try {
        await paid(instance, prompt());
        served++;
      } catch (error) {
        expect((error as { status?: number }).status).toBe(429);
        refused++;
      }
      await Promise.all([a.settle(), b.settle()]);
    }
    // Reservations keep the spend within the budget: two calls of $0.0225 fit, a third would pass it.
    expect([served, refused]).toEqual([2, 4]);
    // Refused calls never reached the fake: drop the answers scripted for them.
    fakes.openai.reset();
    await a.ledger.writer.flush();
    const usage = (await (await fetch(`${b.url}/v1/usage`)).json()) as {
      totalCost: number;
      requests: number;
    };
    expect(usage).toMatchObject({ totalCost: 0.045, requests: 2 });
  });
});
