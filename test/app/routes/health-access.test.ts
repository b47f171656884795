import { afterEach, describe, expect, it } from "vitest";
import { testConfig } from "../../helpers/deps";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

// Issue 14 finding 8: /health detail (key-pool positions, dependency error text) only for admin keys;
// /metrics behind METRICS_TOKEN when it is set.

const KEYS = { GATEWAY_API_KEYS: "client-key", GATEWAY_ADMIN_KEYS: "admin-key" };

describe("who sees health detail and metrics", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${h!.url}${path}`, { headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  it("answers /health with the status alone unless the caller presents an admin key", async () => {
    h = await startHarness({ env: KEYS });
    // The primary's breaker and key pool have something to tell: one failed call.
    h.fakes.openai.script({
      kind: "error",
      status: 500,
      message: "upstream exploded at key sk-test-openai-1",
    });
    await fetch(`${h.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer client-key" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });

    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: "Bearer client-key" },
      { "x-api-key": "client-key" },
      { authorization: "Bearer wrong-key" },
      { authorization: "Basic YWRtaW4tdG9rZW4=" },
    ]) {
      const terse = await get("/health", headers);
      expect([200, 503], JSON.stringify(headers)).toContain(terse.status);
      expect(JSON.parse(terse.text), JSON.stringify(headers)).toEqual({
        status: terse.status === 200 ? "healthy" : "degraded",
      });
    }

    for (const headers of <Record<string, string>[]>[
      { authorization: "Bearer admin-key" },
      { "x-api-key": "admin-key" },
    ]) {
      const full = await get("/health", headers);
      const body = JSON.parse(full.text) as {
        status: string;
        version: string;
        checks: Record<string, unknown>;
      };
      expect(body).toMatchObject({ version: expect.any(String), checks: { providers: { openai: {} } } });
      expect(body.status).toBe(full.status === 200 ? "healthy" : "degraded");
    }
  });

  it("keeps /health/live and /health/ready open and terse, with check detail for admins", async () => {
    h = await startHarness({ env: KEYS });
    expect(JSON.parse((await get("/health/live")).text)).toEqual({ status: "ok" });
    const ready = await get("/health/ready");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: "ready" });
    const admin = await get("/health/ready", { authorization: "Bearer admin-key" });
    expect(JSON.parse(admin.text)).toMatchObject({ status: "ready", checks: {} });
  });

  it("shows detail to everyone on a gateway without keys (development), which serves everyone", async () => {
    h = await startHarness();
    const body = JSON.parse((await get("/health")).text) as Record<string, unknown>;
    expect(body).toHaveProperty("checks");
  });

  it("fails /metrics with 401 without the METRICS_TOKEN bearer token and serves it with the token", async () => {
    h = await startHarness({ env: { ...KEYS, METRICS_TOKEN: "scrape-secret-1" } });
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: "Bearer scrape-secret-2" },
      { authorization: "Bearer admin-key" },
      { authorization: "scrape-secret-1" },
    ]) {
      const refused = await get("/metrics", headers);
      expect(refused.status, JSON.stringify(headers)).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe("Bearer");
      expect(JSON.parse(refused.text).error.message).toBe(
        "/metrics needs Authorization: Bearer <METRICS_TOKEN>",
      );
      expect(refused.text).not.toContain("scrape-secret-1");
    }
    const scraped = await get("/metrics", { authorization: "Bearer scrape-secret-1" });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain("# TYPE ai_gateway_requests_total counter");

    // A reload (or secrets refresh) that rotates the token applies to the next scrape.
    h.deps.config.set(testConfig({ ...h.env, METRICS_TOKEN: "scrape-secret-2" }));
    expect((await get("/metrics", { authorization: "Bearer scrape-secret-1" })).status).toBe(401);
    expect((await get("/metrics", { authorization: "Bearer scrape-secret-2" })).status).toBe(200);
    // Without a token /metrics stays open, as before.
    h.deps.config.set(testConfig({ ...h.env, METRICS_TOKEN: "" }));
    expect((await get("/metrics")).status).toBe(200);
  });
});
