import { afterEach, describe, expect, it } from "vitest";
import { buildDeps, type ShutdownHook } from "../../../app/main";
import { createLogger } from "../../../app/observability/logger";
import { createApp } from "../../../app/server";
import { chat, standInComplete } from "../../helpers/complete";
import { fileDataDir } from "../../helpers/data-dir";
import { LogCapture, testConfig } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";
import { deadPort } from "../../helpers/tcp-proxy";

const CANARIES = {
  OPENAI_API_KEY: "sk-canary-openai-7f3a9c",
  OPENAI_API_KEY_2: "sk-canary-openai-second-51b2",
  CLAUDE_API_KEY: "sk-ant-canary-claude-d41e",
  GROQ_API_KEY: "gsk-canary-groq-88aa",
  GATEWAY_API_KEYS: "gk-canary-client-0c9d,gk-canary-client-two-3e1f",
  DB_PASSWORD: "pw-canary-database-6b0f",
  REDIS_PASSWORD: "pw-canary-redis-a7c3",
};

describe("secrets never leak", () => {
  let server: Listening | undefined;
  let hooks: ShutdownHook[] = [];
  afterEach(async () => {
    await server?.close();
    for (const hook of hooks.reverse()) await hook();
    hooks = [];
  });

  it("keeps canary key values out of every response, log line and the metrics", async () => {
    const env = {
      ENVIRONMENT: "development",
      DATA_DIR: fileDataDir(),
      AI_PROVIDER: "openai",
      OPENAI_API_KEY: CANARIES.OPENAI_API_KEY,
      OPENAI_API_KEY_2: CANARIES.OPENAI_API_KEY_2,
      CLAUDE_API_KEY: CANARIES.CLAUDE_API_KEY,
      GROQ_API_KEY: CANARIES.GROQ_API_KEY,
      GATEWAY_API_KEYS: CANARIES.GATEWAY_API_KEYS,
      // The client key is also an admin key, so /health shows its detail (dependency error text) below.
      GATEWAY_ADMIN_KEYS: CANARIES.GATEWAY_API_KEYS,
      // Dead ports: the checks fail, so their error messages are exercised too.
      REDIS_URL: `redis://default:${CANARIES.REDIS_PASSWORD}@127.0.0.1:${await deadPort()}`,
      DATABASE_URL: `postgres://postgres:${CANARIES.DB_PASSWORD}@127.0.0.1:${await deadPort()}/test`,
      CHROMA_URL: `http://user:${CANARIES.DB_PASSWORD}@127.0.0.1:${await deadPort()}`,
    };
    const logs = new LogCapture();
    const logger = createLogger({ level: "trace", destination: logs });
    const config = testConfig(env);
    const built = await buildDeps(config, logger, env);
    hooks = built.hooks;
    const stand = standInComplete();
    server = await listen(createApp({ ...built.deps, ops: { ...built.deps.ops, complete: stand.complete } }));
    logger.info({ config }, "configuration dump a careless caller might log");

    const good = { authorization: "Bearer gk-canary-client-0c9d", "content-type": "application/json" };
    const seen: string[] = [];
    const call = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${server!.url}${path}`, init);
      seen.push(JSON.stringify([...response.headers]), await response.text());
      return response.status;
    };
    expect(await call("/health")).toBe(503);
    expect(await call("/health", { headers: good })).toBe(503);
    // Readiness never depends on Redis, Postgres or Chroma; /health above reports them down.
    expect(await call("/health/ready")).toBe(200);
    expect(
      await call("/v1/batch", {
        method: "POST",
        headers: good,
        body: JSON.stringify({ requests: [chat("hi"), chat("x", "crash")] }),
      }),
    ).toBe(200);
    expect(
      await call("/v1/batch", {
        method: "POST",
        headers: { authorization: `Bearer ${CANARIES.OPENAI_API_KEY}` },
      }),
    ).toBe(401);
    expect(
      await call("/v1/batch", { method: "POST", headers: { authorization: "Bearer gk-canary-client-0c9" } }),
    ).toBe(401);
    expect(await call("/v1/batch", { method: "POST", headers: good, body: "{bad json" })).toBe(400);
    expect(await call("/v1/nothing", { headers: good })).toBe(404);
    expect(await call("/metrics")).toBe(200);

    const everything = [...seen, ...logs.lines].join("\n");
    const values = [
      CANARIES.OPENAI_API_KEY,
      CANARIES.OPENAI_API_KEY_2,
      CANARIES.CLAUDE_API_KEY,
      CANARIES.GROQ_API_KEY,
      ...CANARIES.GATEWAY_API_KEYS.split(","),
      CANARIES.DB_PASSWORD,
      CANARIES.REDIS_PASSWORD,
    ];
    for (const value of values) expect(everything, value).not.toContain(value);
    // The checks did run against the planted URLs (so their errors were exercised).
    expect(seen.join("\n")).toContain('"postgres":{"status":"down"');
  });
});
