import type { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ResponseCache } from "../../../app/cache/response-cache";
import { type CacheStore, MemoryCacheStore, RedisCacheStore } from "../../../app/cache/store";
import { createRedis } from "../../../app/data/redis";
import { whenReady } from "../../../app/data/when-ready";
import type { ResponseEvent } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { createApp } from "../../../app/server";
import { type FakeUpstream, startAnthropicFake, startOpenAIFake } from "../../fakes";
import { LogCapture, testDeps } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";
import { RecordingMetrics } from "../../helpers/metrics";
import { REDIS_URL, redisPrefix } from "../../helpers/real-services";

// Issue 14 finding 13 (`x-ai-fallback`) and serve-stale-on-outage
// (`AI_CACHE_STALE_IF_ERROR_SECONDS`, `x-ai-cache: stale`), through the OpenAI SDK.
const ask = (content: string) => ({ model: "gpt-4o", messages: [{ role: "user" as const, content }] });

/** A settable clock the cache stamps and judges entries by. */
class TestClock {
  at = Date.now();
  now(): number {
    return this.at;
  }
}

const redisKeys = redisPrefix();
const redisClients: Redis[] = [];
afterAll(async () => {
  for (const client of redisClients) client.disconnect();
  await redisKeys.cleanup();
});

interface Setup {
  client: OpenAI;
  openai: FakeUpstream;
  claude: FakeUpstream;
  clock: TestClock;
  metrics: RecordingMetrics;
  responses: ResponseEvent[];
  close(): Promise<void>;
}

async function setup(
  env: Record<string, string>,
  store?: (clock: TestClock) => Promise<CacheStore>,
): Promise<Setup> {
  const [openai, claude] = await Promise.all([startOpenAIFake(), startAnthropicFake()]);
  const clock = new TestClock();
  const metrics = new RecordingMetrics();
  const logger = createLogger({ level: "error", destination: new LogCapture() });
  const cache = store ? new ResponseCache({ store: await store(clock), logger, metrics, clock }) : undefined;
  const deps = testDeps(
    {
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      AI_MAX_RETRIES: "0",
      OPENAI_API_KEY: "sk-test-openai-1",
      CLAUDE_API_KEY: "sk-ant-test-1",
      OPENAI_BASE_URL: `${openai.origin}/v1`,
      CLAUDE_BASE_URL: claude.origin,
      ...env,
    },
    cache ? { cache } : {},
  );
  const responses: ResponseEvent[] = [];
  deps.events.on("onResponse", (event) => responses.push(event));
  const server: Listening = await listen(createApp(deps));
  const client = new OpenAI({ apiKey: "client-key", baseURL: `${server.url}/v1`, maxRetries: 0 });
  return {
    client,
    openai,
    claude,
    clock,
    metrics,
    responses,
    async close() {
      await server.close();
      await deps.gateway.close();
      await Promise.all([openai.close(), claude.close()]);
    },
  };
}

describe("x-ai-fallback", () => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it("names the provider that failed first on JSON and SSE answers, and is absent otherwise", async () => {
    s = await setup({ AI_FALLBACK_PROVIDERS: "claude" });
    s.openai.script({ kind: "error", status: 500 }, { kind: "error", status: 503 });

    const json = await s.client.chat.completions.create(ask("json")).withResponse();
    expect(json.response.headers.get("x-ai-provider")).toBe("claude");
    expect(json.response.headers.get("x-ai-fallback")).toBe("openai");

    const sse = await s.client.chat.completions.create({ ...ask("sse"), stream: true }).withResponse();
    for await (const _chunk of sse.data) {
      // drain
    }
    expect(sse.response.headers.get("content-type")).toContain("text/event-stream");
    expect(sse.response.headers.get("x-ai-provider")).toBe("claude");
    expect(sse.response.headers.get("x-ai-fallback")).toBe("openai");

    const direct = await s.client.chat.completions.create(ask("direct")).withResponse();
    expect(direct.response.headers.get("x-ai-provider")).toBe("openai");
    expect(direct.response.headers.has("x-ai-fallback")).toBe(false);
  });

  it("is not sent on a cache hit of an answer a fallback gave", async () => {
    s = await setup(
      { AI_FALLBACK_PROVIDERS: "claude", AI_CACHE_ENABLED: "true" },
      async () => new MemoryCacheStore(),
    );
    s.openai.script({ kind: "error", status: 500 });
    const first = await s.client.chat.completions.create(ask("cached")).withResponse();
    expect(first.response.headers.get("x-ai-fallback")).toBe("openai");
    const hit = await s.client.chat.completions.create(ask("cached")).withResponse();
    expect(hit.response.headers.get("x-ai-cache")).toBe("hit");
    expect(hit.response.headers.has("x-ai-fallback")).toBe(false);
  });
});

const stores: Array<[string, (clock: TestClock) => Promise<CacheStore>]> = [
  ["memory", async (clock) => new MemoryCacheStore({ clock })],
  [
    "redis",
    async () => {
      const redis = createRedis({
        url: REDIS_URL,
        logger: createLogger({ level: "error", destination: new LogCapture() }),
        name: "test-stale",
      });
      redisClients.push(redis);
      await whenReady(redis);
      return new RedisCacheStore(redis, redisKeys.prefix);
    },
  ],
];

describe.each(stores)("serve stale on outage (%s store)", (kind, store) => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });
  const TTL = 60;
  const WINDOW = 600;
  const env = {
    AI_CACHE_ENABLED: "true",
    AI_CACHE_TTL_SECONDS: String(TTL),
    AI_CACHE_STALE_IF_ERROR_SECONDS: String(WINDOW),
  };

  it("serves an expired answer within TTL + window when every provider fails, at zero cost, counted", async () => {
    s = await setup(env, store);
    const question = ask(`stale ${kind} ${Math.random()}`);
    const fresh = await s.client.chat.completions.create(question).withResponse();
    expect(fresh.response.headers.get("x-ai-cache")).toBe("miss");

    // Past the TTL, with the provider up: a miss that goes upstream again.
    s.clock.at += (TTL + 1) * 1000;
    const refreshed = await s.client.chat.completions.create(question).withResponse();
    expect(refreshed.response.headers.get("x-ai-cache")).toBe("miss");
    expect(s.openai.chatRequests()).toHaveLength(2);

    // Past the TTL again, provider down: the stale answer, JSON and SSE.
    s.clock.at += (TTL + 1) * 1000;
    s.openai.script({ kind: "error", status: 500 }, { kind: "error", status: 500 });
    const stale = await s.client.chat.completions.create(question).withResponse();
    expect(stale.response.status).toBe(200);
    expect(stale.response.headers.get("x-ai-cache")).toBe("stale");
    expect(stale.data.choices[0]?.message.content).toBe("Hello from openai");
    const staleSse = await s.client.chat.completions.create({ ...question, stream: true }).withResponse();
    let text = "";
    for await (const chunk of staleSse.data) text += chunk.choices[0]?.delta.content ?? "";
    expect(staleSse.response.headers.get("x-ai-cache")).toBe("stale");
    expect(text).toBe("Hello from openai");
    expect(s.openai.chatRequests()).toHaveLength(4);

    // Billed like a hit: a zero-cost ledger row (cacheHit), no upstream time.
    expect(s.responses.slice(-2)).toMatchObject([
      { cacheHit: true, upstreamMs: 0, attempts: 0, status: 200 },
      { cacheHit: true, upstreamMs: 0, attempts: 0, status: 200 },
    ]);
    expect(s.metrics.count(METRIC.cacheStaleServed, { store: kind })).toBe(2);
  });

  it("answers the 502 once the entry is older than TTL + window", async () => {
    s = await setup(env, store);
    const question = ask(`too old ${kind} ${Math.random()}`);
    await s.client.chat.completions.create(question);
    s.clock.at += (TTL + WINDOW + 1) * 1000;
    s.openai.script({ kind: "error", status: 500 });
    const failure = await s.client.chat.completions.create(question).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(s.metrics.count(METRIC.cacheStaleServed, { store: kind })).toBe(0);
  });

  it("is off by default: an expired entry is not served on an outage", async () => {
    s = await setup({ AI_CACHE_ENABLED: "true", AI_CACHE_TTL_SECONDS: String(TTL) }, store);
    const question = ask(`off ${kind} ${Math.random()}`);
    await s.client.chat.completions.create(question);
    s.clock.at += (TTL + 1) * 1000;
    s.openai.script({ kind: "error", status: 500 });
    const failure = await s.client.chat.completions.create(question).catch((error: unknown) => error);
    expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });
});
