import { describe, expect, it } from "vitest";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";

// Issue 10 item 7: a client hanging up on a batch cancels the items not yet started.

const suite = ledgerGatewaySuite({ redis: true });

describe("batch and a client hang-up", () => {
  it("never starts the items waiting behind the running ones once the client has gone", async () => {
    suite.fakes.openai.reset();
    // 20 items, 5 at a time (the default batchConcurrency); each answer takes 400 ms.
    suite.fakes.openai.script(
      ...Array.from({ length: 20 }, () => ({ kind: "answer" as const, delayMs: 400 })),
    );
    const controller = new AbortController();
    const pending = fetch(`${suite.gateway.url}/v1/batch`, {
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
    await suite.fakes.openai.waitForRequests(5);
    controller.abort();
    await pending;
    // Long enough for every remaining item to have started, had the batch gone on.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(suite.fakes.openai.chatRequests().length).toBe(5);
    await suite.gateway.ledger.writer.flush();
    const rows = await suite.sql.query(
      `SELECT count(*)::int AS n FROM ${suite.schema}.ledger_requests WHERE client_request_id LIKE 'hangup-batch:%'`,
    );
    expect(rows.rows[0].n).toBeLessThanOrEqual(5);
    suite.fakes.openai.reset();
  });
});
