import { describe, expect, it } from "vitest";
import { estimatePromptTokens, estimateTextTokens } from "../../../app/budget/estimate";
import { usdStringToPico } from "../../../app/ledger/money";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";

// Issue 10 item 3: a stream the client stops reading is billed exactly once.

const suite = ledgerGatewaySuite({ redis: true, env: { AI_BUDGET_ENFORCE: "true", AI_DAILY_BUDGET: "100" } });

const CONTENT = "Tell me a long story about ledgers";

/** Streams a chat request and aborts once `stopAt` appears in what was received. */
async function readUntil(requestId: string, stopAt: string): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(`${suite.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId, "cache-control": "no-cache" },
    body: JSON.stringify({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: CONTENT }] }),
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(stopAt)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text;
}

async function rowsOf(requestId: string) {
  for (let tries = 0; tries < 200; tries++) {
    await suite.gateway.ledger.writer.flush();
    const result = await suite.sql.query(
      `SELECT input_tokens, output_tokens, cost_usd::text AS cost, status, estimated, stream
         FROM ${suite.schema}.ledger_requests WHERE client_request_id = $1`,
      [requestId],
    );
    if (result.rows.length > 0) {
      // Anything billed twice would be in by now too.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await suite.gateway.ledger.writer.flush();
      return (
        await suite.sql.query(`SELECT * FROM ${suite.schema}.ledger_requests WHERE client_request_id = $1`, [
          requestId,
        ])
      ).rows;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [];
}

describe("a stream the client leaves", () => {
  it("is billed once when the client leaves after the finish_reason chunk, with the usage estimated", async () => {
    suite.fakes.openai.script({
      kind: "answer",
      chunks: ["Once ", "upon ", "a ", "time"],
      usage: { input: 20, output: 4 },
      chunkDelayMs: 400,
    });
    const spentBefore = await suite.gateway.budget.spentPico();
    await readUntil("left-after-finish", '"finish_reason":"stop"');
    const rows = await rowsOf("left-after-finish");
    expect(rows).toHaveLength(1);
    // Usually the gateway sees the client leave before the usage frame (sent 400 ms after
    // finish_reason) and estimates; on a loaded machine the frame may win and is billed as reported.
    expect(rows[0]).toMatchObject(
      rows[0].estimated
        ? {
            status: 499,
            stream: true,
            input_tokens: estimatePromptTokens([{ role: "user", content: CONTENT }]),
            output_tokens: estimateTextTokens("Once upon a time"),
          }
        : { stream: true, input_tokens: 20, output_tokens: 4 },
    );
    expect(usdStringToPico(rows[0].cost_usd)).toBeGreaterThan(0n);
    // The budget is charged what the ledger billed: leaving does not walk around AI_BUDGET_ENFORCE.
    await suite.gateway.settle();
    expect((await suite.gateway.budget.spentPico()) - spentBefore).toBe(usdStringToPico(rows[0].cost_usd));
  });

  it("is billed once mid-stream, and the upstream call is aborted", async () => {
    suite.fakes.openai.script({
      kind: "answer",
      chunks: ["alpha ", "beta ", "gamma ", "delta ", "epsilon"],
      usage: { input: 20, output: 5 },
      chunkDelayMs: 300,
    });
    const aborted = suite.fakes.openai.waitForAbort();
    await readUntil("left-mid-stream", "beta");
    await aborted;
    const rows = await rowsOf("left-mid-stream");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 499, estimated: true });
    expect(rows[0].output_tokens).toBeGreaterThanOrEqual(estimateTextTokens("alpha beta "));
    expect(rows[0].output_tokens).toBeLessThan(estimateTextTokens("alpha beta gamma delta epsilon"));
  });

  it("is billed from the provider's usage, not estimated, when the stream is read to the end", async () => {
    suite.fakes.openai.script({ kind: "answer", chunks: ["short"], usage: { input: 20, output: 1 } });
    await readUntil("read-to-end", "[DONE]");
    const rows = await rowsOf("read-to-end");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 200, estimated: false, input_tokens: 20, output_tokens: 1 });
  });
});

describe("a call the client leaves before any answer", () => {
  // The provider was sent the prompt (and bills it): the ledger and the budget bill it once, estimated.
  it.each([
    { stream: false, requestId: "left-non-streaming" },
    { stream: true, requestId: "left-before-first-chunk" },
  ])("is billed its prompt once (stream $stream)", async ({ stream, requestId }) => {
    suite.fakes.openai.script({ kind: "hang" });
    const sent = suite.fakes.openai.requests.length + 1;
    const spentBefore = await suite.gateway.budget.spentPico();
    const controller = new AbortController();
    const pending = fetch(`${suite.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId, "cache-control": "no-cache" },
      body: JSON.stringify({ model: "gpt-4o", stream, messages: [{ role: "user", content: CONTENT }] }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await suite.fakes.openai.waitForRequests(sent);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const rows = await rowsOf(requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 499,
      estimated: true,
      stream,
      input_tokens: estimatePromptTokens([{ role: "user", content: CONTENT }]),
      output_tokens: 0,
    });
    expect(usdStringToPico(rows[0].cost_usd)).toBeGreaterThan(0n);
    await suite.gateway.settle();
    expect((await suite.gateway.budget.spentPico()) - spentBefore).toBe(usdStringToPico(rows[0].cost_usd));
  });
});

describe("a stream the upstream breaks after its first chunk", () => {
  // Issue 16: the provider bills what it produced before failing, so the ledger bills it once (502).
  it("is billed once with tokens, estimated, and the budget is charged what the ledger billed", async () => {
    suite.fakes.openai.script({
      kind: "stream_error",
      chunks: ["alpha ", "beta "],
      message: "upstream reset",
    });
    const spentBefore = await suite.gateway.budget.spentPico();
    const text = await readUntil("upstream-broke", "event: error");
    expect(text).toContain("beta");
    const rows = await rowsOf("upstream-broke");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 502,
      estimated: true,
      stream: true,
      input_tokens: estimatePromptTokens([{ role: "user", content: CONTENT }]),
      output_tokens: estimateTextTokens("alpha beta "),
    });
    expect(usdStringToPico(rows[0].cost_usd)).toBeGreaterThan(0n);
    await suite.gateway.settle();
    expect((await suite.gateway.budget.spentPico()) - spentBefore).toBe(usdStringToPico(rows[0].cost_usd));
  });
});
