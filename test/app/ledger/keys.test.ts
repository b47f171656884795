import { describe, expect, it } from "vitest";
import { usdStringToPico } from "../../../app/ledger/money";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";

// Issue 10 item 2: the ledger owns its keys; a client-chosen x-request-id never deletes a row.

const suite = ledgerGatewaySuite({ redis: true, env: { GATEWAY_API_KEYS: "key-a,key-b" } });

function post(path: string, key: string, body: unknown, requestId?: string): Promise<Response> {
  return fetch(`${suite.gateway.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${key}`,
      "cache-control": "no-cache",
      ...(requestId ? { "x-request-id": requestId } : {}),
    },
    body: JSON.stringify(body),
  });
}

async function rowsWith(clientIds: readonly string[]) {
  await suite.gateway.ledger.writer.flush();
  const result = await suite.sql.query(
    `SELECT request_id, client_request_id, tenant, cost_usd::text AS cost FROM ${suite.schema}.ledger_requests
      WHERE client_request_id = ANY($1)`,
    [clientIds],
  );
  return result.rows as Array<{
    request_id: string;
    client_request_id: string;
    tenant: string;
    cost: string;
  }>;
}

const chat = (content: string) => ({ model: "gpt-4o", messages: [{ role: "user", content }] });

describe("the ledger owns its keys", () => {
  it("bills five calls that reuse one x-request-id as five rows, still echoing the client's id", async () => {
    const before = suite.fakes.openai.chatRequests().length;
    const spentBefore = await suite.gateway.budget.spentPico();
    for (let i = 0; i < 5; i++) {
      const response = await post("/v1/chat/completions", "key-a", chat(`same id ${i}`), "dup-id-1");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-request-id")).toBe("dup-id-1");
      await response.arrayBuffer();
    }
    expect(suite.fakes.openai.chatRequests().length - before).toBe(5);
    const rows = await rowsWith(["dup-id-1"]);
    expect(rows).toHaveLength(5);
    expect(new Set(rows.map((row) => row.request_id)).size).toBe(5);
    // The budget counter and the ledger count the same calls.
    await suite.gateway.settle();
    const ledgerSum = rows.reduce((sum, row) => sum + usdStringToPico(row.cost), 0n);
    expect((await suite.gateway.budget.spentPico()) - spentBefore).toBe(ledgerSum);
  });

  it("never lets one tenant pre-claim another tenant's request id", async () => {
    for (const key of ["key-a", "key-b"]) {
      const response = await post("/v1/chat/completions", key, chat(`claim ${key}`), "claimed-id");
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const rows = await rowsWith(["claimed-id"]);
    expect(rows.map((row) => row.tenant).sort()).toHaveLength(2);
    expect(new Set(rows.map((row) => row.tenant)).size).toBe(2);
  });

  it("gives every batch item its own row, even across batches sharing an x-request-id", async () => {
    for (let round = 0; round < 2; round++) {
      const response = await post(
        "/v1/batch",
        "key-a",
        { requests: [chat(`batch ${round} a`), chat(`batch ${round} b`), chat(`batch ${round} c`)] },
        "batch-dup",
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as { results: Array<{ success: boolean }> };
      expect(body.results.map((r) => r.success)).toEqual([true, true, true]);
    }
    const rows = await rowsWith(["batch-dup:0", "batch-dup:1", "batch-dup:2"]);
    expect(rows).toHaveLength(6);
  });

  it("gives every job its own row", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await post("/v1/jobs", "key-a", chat(`job ${i}`), "job-dup");
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    for (const id of ids) {
      for (;;) {
        const poll = await fetch(`${suite.gateway.url}/v1/jobs/${id}`, {
          headers: { authorization: "Bearer key-a" },
        });
        const view = (await poll.json()) as { status: string };
        if (view.status !== "processing") break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(await rowsWith(ids)).toHaveLength(2);
  });
});
