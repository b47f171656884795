import { describe, expect, it } from "vitest";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";
import { total as sample } from "../../helpers/metrics";

// Issue 10 item 8: the metrics count what the ledger counts.

const suite = ledgerGatewaySuite({ redis: true });

async function post(body: unknown): Promise<number> {
  const response = await fetch(`${suite.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("metrics counted like the ledger", () => {
  it("leaves cache hits out of ai_gateway_tokens_total and counts validation 400s as requests", async () => {
    const request = { model: "gpt-4o", messages: [{ role: "user", content: "cache me" }] };
    expect(await post(request)).toBe(200);
    expect(await post(request)).toBe(200);
    expect(await post({ model: "gpt-4o" })).toBe(400);
    expect(await post({ model: "m".repeat(300), messages: [{ role: "user", content: "x" }] })).toBe(400);
    const usage = await suite.gateway.ledger.usage(new Date().toISOString().slice(0, 10));
    expect(usage).toMatchObject({ requests: 2, cacheHits: 1 });
    const text = await (await fetch(`${suite.gateway.url}/metrics`)).text();
    expect(sample(text, "ai_gateway_tokens_total", { direction: "input" })).toBe(usage.inputTokens);
    expect(sample(text, "ai_gateway_tokens_total", { direction: "output" })).toBe(usage.outputTokens);
    expect(sample(text, "ai_gateway_requests_total", { cache: "hit" })).toBe(1);
    expect(sample(text, "ai_gateway_requests_total", { provider: "none", status: "400" })).toBe(2);
  });
});

describe("a call the client leaves", () => {
  it("counts once in ai_gateway_requests_total (status 499) while its estimated prompt is counted as tokens", async () => {
    const metrics = async () => (await fetch(`${suite.gateway.url}/metrics`)).text();
    const before = await metrics();
    suite.fakes.openai.script({ kind: "hang" });
    const sent = suite.fakes.openai.requests.length + 1;
    const controller = new AbortController();
    const pending = fetch(`${suite.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "cache-control": "no-cache" },
      body: JSON.stringify({
        model: "gpt-4o",
        messages: [{ role: "user", content: "left before the answer" }],
      }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await suite.fakes.openai.waitForRequests(sent);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    let after = await metrics();
    for (
      let tries = 0;
      tries < 200 && sample(after, "ai_gateway_requests_total", { status: "499" }) === 0;
      tries++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      after = await metrics();
    }
    // Both the billing event and the error event of the hang-up have arrived by now.
    await new Promise((resolve) => setTimeout(resolve, 200));
    after = await metrics();
    const count = (text: string) => sample(text, "ai_gateway_requests_total", { status: "499" });
    expect(count(after) - count(before)).toBe(1);
    const input = (text: string) => sample(text, "ai_gateway_tokens_total", { direction: "input" });
    expect(input(after) - input(before)).toBeGreaterThan(0);
  });
});
