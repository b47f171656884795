import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cacheKey } from "../../../app/cache/cache-key";
import { cacheDirectives } from "../../../app/cache/directives";
import { ResponseCache } from "../../../app/cache/response-cache";
import { type CacheStore, MemoryCacheStore, RedisCacheStore } from "../../../app/cache/store";
import { createRedis } from "../../../app/data/redis";
import { whenReady } from "../../../app/data/when-ready";
import { createLogger } from "../../../app/observability/logger";
import { METRIC } from "../../../app/observability/metric-names";
import { entry } from "../../helpers/completions";
import { LogCapture } from "../../helpers/deps";
import { RecordingMetrics } from "../../helpers/metrics";
import { REDIS_URL, redisPrefix, TcpProxy } from "../../helpers/real-services";

/** A debug logger writing to memory. */
const quietLogger = () => createLogger({ level: "debug", destination: new LogCapture() });

const ON = cacheDirectives({}, { enabled: true, defaultTtlSeconds: 60 });
const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };

const redisKeys = redisPrefix();
const clients: Redis[] = [];
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redisKeys.cleanup();
});

function stores(): Array<[string, () => CacheStore]> {
  return [
    ["memory", () => new MemoryCacheStore()],
    [
      "redis",
      () => {
        const client = createRedis({ url: REDIS_URL, logger: quietLogger(), name: "test-cache" });
        clients.push(client);
        return new RedisCacheStore(client, redisKeys.prefix);
      },
    ],
  ];
}

describe.each(stores())("ResponseCache on %s", (_kind, makeStore) => {
  let cache: ResponseCache;
  beforeAll(async () => {
    const store = makeStore();
    const client = clients.at(-1);
    if (store.kind === "redis" && client) await whenReady(client);
    cache = new ResponseCache({ store, logger: quietLogger() });
  });

  it("misses, stores the produced entry, then hits", async () => {
    const key = cacheKey({ tenant: `t-${Math.random()}`, provider: "openai", model: "gpt-4o-mini", request });
    const first = await cache.resolve(key, ON, async () => ({ value: "upstream", entry: entry("Paris") }));
    expect(first).toMatchObject({ outcome: "miss", produced: "upstream", shared: false });
    const second = await cache.resolve(key, ON, async () => ({ value: "again", entry: entry("Lyon") }));
    expect(second.outcome).toBe("hit");
    expect(second.cached?.completion.choices[0]?.message.content).toBe("Paris");
  });

  it("never serves one tenant's entry to another", async () => {
    const tenantA = cacheKey({
      tenant: `a-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    const tenantB = cacheKey({
      tenant: `b-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    await cache.resolve(tenantA, ON, async () => ({ value: 1, entry: entry("for A") }));
    const forB = await cache.resolve(tenantB, ON, async () => ({ value: 2, entry: entry("for B") }));
    expect(forB).toMatchObject({ outcome: "miss", produced: 2 });
    expect((await cache.get(tenantA))?.completion.choices[0]?.message.content).toBe("for A");
    expect((await cache.get(tenantB))?.completion.choices[0]?.message.content).toBe("for B");
  });

  it("makes one upstream call for 20 identical concurrent requests", async () => {
    const key = cacheKey({
      tenant: `sf-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const produce = async () => {
      calls++;
      await gate;
      return { value: "fresh", entry: entry("shared answer") };
    };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.resolve(key, ON, produce)));
    // Let every request reach the cache before the upstream answers.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const results = await all;
    expect(calls).toBe(1);
    expect(results.filter((result) => !result.shared)).toHaveLength(1);
    for (const result of results.filter((r) => r.shared)) {
      expect(result.cached?.completion.choices[0]?.message.content).toBe("shared answer");
    }
  });

  it("shares the upstream failure with identical requests in flight instead of calling again", async () => {
    const key = cacheKey({
      tenant: `fail-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    let calls = 0;
    const produce = async (): Promise<{ value: string }> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error("upstream 502");
    };
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => cache.resolve(key, ON, produce)),
    );
    expect(calls).toBe(1);
    expect(results.every((result) => result.status === "rejected")).toBe(true);
  });

  it("runs the miss hook (the budget check) before a paid call but never for a hit", async () => {
    const key = cacheKey({ tenant: `b-${Math.random()}`, provider: "openai", model: "gpt-4o-mini", request });
    await cache.resolve(key, ON, async () => ({ value: 0, entry: entry("paid once") }));
    const refuse = () => {
      throw new Error("budget_exceeded");
    };
    const hit = await cache.resolve(key, ON, async () => ({ value: 1 }), { onMiss: refuse });
    expect(hit.outcome).toBe("hit");
    const other = cacheKey({
      tenant: `b2-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    let called = false;
    const produce = async () => {
      called = true;
      return { value: 2 };
    };
    await expect(cache.resolve(other, ON, produce, { onMiss: refuse })).rejects.toThrow("budget_exceeded");
    const noCache = cacheDirectives({ cacheControl: "no-cache" }, { enabled: true, defaultTtlSeconds: 60 });
    await expect(cache.resolve(key, noCache, produce, { onMiss: refuse })).rejects.toThrow("budget_exceeded");
    expect(called).toBe(false);
  });

  it("sends waiting requests upstream themselves when the leader failed on its own (client hung up)", async () => {
    const key = cacheKey({
      tenant: `hup-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    let calls = 0;
    const produce = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (calls === 1) throw new Error("client disconnected");
      return { value: calls, entry: entry("second try") };
    };
    const own = { shareError: (error: unknown) => (error as Error).message !== "client disconnected" };
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => cache.resolve(key, ON, produce, own)),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled", "fulfilled"]);
    expect(calls).toBe(2);
  });

  it("bypasses the lookup on no-cache but stores the fresh answer", async () => {
    const key = cacheKey({
      tenant: `nc-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    await cache.resolve(key, ON, async () => ({ value: 0, entry: entry("old") }));
    const noCache = cacheDirectives({ cacheControl: "no-cache" }, { enabled: true, defaultTtlSeconds: 60 });
    const bypass = await cache.resolve(key, noCache, async () => ({ value: 1, entry: entry("new") }));
    expect(bypass).toMatchObject({ outcome: "bypass", produced: 1 });
    expect((await cache.get(key))?.completion.choices[0]?.message.content).toBe("new");
  });

  it("bypasses the lookup and skips the write on no-store", async () => {
    const key = cacheKey({
      tenant: `ns-${Math.random()}`,
      provider: "openai",
      model: "gpt-4o-mini",
      request,
    });
    const noStore = cacheDirectives(
      { cacheControl: "max-age=0, no-store" },
      { enabled: true, defaultTtlSeconds: 60 },
    );
    const result = await cache.resolve(key, noStore, async () => ({ value: 1, entry: entry("secret") }));
    expect(result.outcome).toBe("bypass");
    expect(await cache.get(key)).toBeUndefined();
  });
});

describe("single-flight against a slow lookup", () => {
  it("makes one upstream call when an identical request's lookup misses while the first answer is stored", async () => {
    // The second lookup answers only after the first request has stored its
    // answer and ended: it reads the store as it was before the write.
    const inner = new MemoryCacheStore();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gets = 0;
    const store: CacheStore = {
      kind: "memory",
      async get(key) {
        gets++;
        if (gets === 1) return inner.get(key);
        const before = await inner.get(key);
        await released;
        return before;
      },
      set: (key, value, ttl) => inner.set(key, value, ttl),
    };
    const cache = new ResponseCache({ store, logger: quietLogger() });
    const key = cacheKey({ tenant: "t", provider: "openai", model: "gpt-4o-mini", request });
    let upstream = 0;
    const produce = async () => {
      upstream++;
      return { value: `answer ${upstream}`, entry: entry(`answer ${upstream}`) };
    };
    const first = cache.resolve(key, ON, produce);
    const second = cache.resolve(key, ON, produce);
    const one = await first;
    release();
    const two = await second;
    expect(upstream).toBe(1);
    expect(one).toMatchObject({ outcome: "miss", produced: "answer 1" });
    expect(two).toMatchObject({
      shared: true,
      cached: { completion: { choices: [{ message: { content: "answer 1" } }] } },
    });
  });
});

describe("cache TTL", () => {
  it("expires memory entries after the request's TTL (controlled clock)", async () => {
    let now = 1_000_000;
    const cache = new ResponseCache({
      store: new MemoryCacheStore({ clock: { now: () => now } }),
      logger: quietLogger(),
    });
    const directives = cacheDirectives({ ttl: "30" }, { enabled: true, defaultTtlSeconds: 3600 });
    await cache.resolve("k", directives, async () => ({ value: 1, entry: entry("short-lived") }));
    now += 29_000;
    expect(await cache.get("k")).toBeDefined();
    now += 2_000;
    expect(await cache.get("k")).toBeUndefined();
  });

  it("sets the Redis expiry to the environment default or the request's TTL", async () => {
    const client = createRedis({ url: REDIS_URL, logger: quietLogger(), name: "test-ttl" });
    clients.push(client);
    await whenReady(client);
    const cache = new ResponseCache({
      store: new RedisCacheStore(client, redisKeys.prefix),
      logger: quietLogger(),
    });
    await cache.resolve("ttl-default", ON, async () => ({ value: 1, entry: entry("a") }));
    const perRequest = cacheDirectives({ ttl: "5" }, { enabled: true, defaultTtlSeconds: 60 });
    await cache.resolve("ttl-request", perRequest, async () => ({ value: 1, entry: entry("b") }));
    const ttlDefault = await client.ttl(`${redisKeys.prefix}cache:ttl-default`);
    const ttlRequest = await client.ttl(`${redisKeys.prefix}cache:ttl-request`);
    expect(ttlDefault).toBeGreaterThan(55);
    expect(ttlDefault).toBeLessThanOrEqual(60);
    expect(ttlRequest).toBeGreaterThan(0);
    expect(ttlRequest).toBeLessThanOrEqual(5);
  });

  it("keeps the in-process store bounded, evicting the least recently used entry", async () => {
    const store = new MemoryCacheStore({ maxEntries: 2 });
    await store.set("a", entry("a"), 60);
    await store.set("b", entry("b"), 60);
    await store.get("a");
    await store.set("c", entry("c"), 60);
    expect(await store.get("b")).toBeUndefined();
    expect((await store.get("a"))?.completion.choices[0]?.message.content).toBe("a");
    expect((await store.get("c"))?.completion.choices[0]?.message.content).toBe("c");
  });

  it("does not store with x-ai-cache-ttl: 0", () => {
    expect(cacheDirectives({ ttl: "0" }, { enabled: true, defaultTtlSeconds: 60 })).toEqual({
      lookup: true,
      write: false,
      ttlSeconds: 0,
      bypassed: false,
    });
  });

  it("fails when x-ai-cache-ttl is not a whole number of seconds", () => {
    for (const ttl of ["-1", "1.5", "soon", "604801"]) {
      expect(() => cacheDirectives({ ttl }, { enabled: true, defaultTtlSeconds: 60 })).toThrow(
        "x-ai-cache-ttl must be a whole number of seconds from 0 to 604800",
      );
    }
  });

  it("neither looks up nor stores when caching is off", () => {
    expect(cacheDirectives({}, { enabled: false, defaultTtlSeconds: 60 })).toEqual({
      lookup: false,
      write: false,
      ttlSeconds: 60,
      bypassed: false,
    });
  });
});

describe("cache with Redis down", () => {
  const proxy = TcpProxy.forUrl(REDIS_URL);
  let client: Redis;
  beforeAll(async () => {
    await proxy.start();
  });
  afterAll(async () => {
    client?.disconnect();
    await proxy.stop();
  });
  afterEach(async () => {
    await proxy.start().catch(() => {});
  });

  it("serves uncached with a metric and a log line, and caches again once Redis returns", async () => {
    const logs = new LogCapture();
    const metrics = new RecordingMetrics();
    const log = createLogger({ level: "debug", destination: logs });
    client = createRedis({ url: proxy.rewrite(REDIS_URL), logger: log, name: "test-down" });
    const cache = new ResponseCache({
      store: new RedisCacheStore(client, redisKeys.prefix),
      logger: log,
      metrics,
    });
    expect(await whenReady(client)).toBe(true);

    await proxy.stop();
    let calls = 0;
    const produce = async () => {
      calls++;
      return { value: `answer ${calls}`, entry: entry("cached later") };
    };
    const down1 = await cache.resolve("outage", ON, produce);
    const down2 = await cache.resolve("outage", ON, produce);
    expect([down1.produced, down2.produced]).toEqual(["answer 1", "answer 2"]);
    expect(metrics.count(METRIC.cacheErrors, { store: "redis", operation: "get" })).toBe(2);
    const warnings = logs
      .records()
      .filter((r) => r["msg"] === "response cache unavailable; serving uncached");
    expect(warnings).toHaveLength(1);

    await proxy.start();
    await expect.poll(() => client.status, { timeout: 10_000, interval: 50 }).toBe("ready");
    await cache.resolve("outage", ON, produce);
    const hit = await cache.resolve("outage", ON, produce);
    expect(hit.outcome).toBe("hit");
    expect(calls).toBe(3);
    expect(logs.records().some((r) => r["msg"] === "response cache available again")).toBe(true);
  });
});
