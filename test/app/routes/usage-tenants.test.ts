import { beforeAll, describe, expect, it } from "vitest";
import { keyId } from "../../../app/security/auth";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";

// Issue 10 item 5: /v1/usage answers the caller's own tenant; admin keys see all and filter.

const suite = ledgerGatewaySuite({
  env: { GATEWAY_API_KEYS: "key-a,key-b", GATEWAY_ADMIN_KEYS: "admin-key" },
});

beforeAll(async () => {
  // Tenant a: two calls; tenant b: one. The fake reports 12 input and 5 output tokens each.
  for (const key of ["key-a", "key-a", "key-b"]) {
    const response = await fetch(`${suite.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${key}`,
        "cache-control": "no-cache",
      },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }] }),
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  }
});

async function usage(key: string, query = ""): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${suite.gateway.url}/v1/usage${query}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("GET /v1/usage per tenant", () => {
  it("answers a client key its own tenant's totals only", async () => {
    expect((await usage("key-a")).body).toMatchObject({ requests: 2, totalTokens: 34 });
    expect((await usage("key-b")).body).toMatchObject({ requests: 1, totalTokens: 17 });
  });

  it("answers an admin key every tenant, and one tenant with ?tenant=", async () => {
    expect((await usage("admin-key")).body).toMatchObject({ requests: 3, totalTokens: 51 });
    expect((await usage("admin-key", `?tenant=${keyId("key-b")}`)).body).toMatchObject({ requests: 1 });
  });

  it("fails when a client key asks for another tenant with 403", async () => {
    const { status, body } = await usage("key-a", `?tenant=${keyId("key-b")}`);
    expect(status).toBe(403);
    expect(body).toEqual({
      error: {
        message: "Reading another tenant's usage needs an admin key (GATEWAY_ADMIN_KEYS)",
        type: "permission_error",
        code: "admin_key_required",
      },
    });
  });
});
