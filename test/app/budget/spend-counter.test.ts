import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { RedisSpendCounter } from "../../../app/budget/spend-counter";
import { createRedis } from "../../../app/data/redis";
import { testDeps } from "../../helpers/deps";
import { REDIS_URL, uniquePrefix } from "../../helpers/real-services";

// The counter's Redis scripts run as ioredis defined commands (EVAL once, then
// EVALSHA on each connection; issue 17): totals stay exact past 2^53 and a
// reconnected client (a new socket, scripts not yet sent on it) is served again.
describe("RedisSpendCounter scripts", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });

  const counter = async () => {
    const redis = createRedis({
      url: REDIS_URL,
      logger: testDeps().logger,
      name: "spend-counter-test",
      overrides: { stringNumbers: true },
    });
    cleanups.push(() => redis.disconnect());
    if (redis.status !== "ready") await once(redis, "ready");
    const prefix = uniquePrefix("spend");
    return { redis, prefix, counter: new RedisSpendCounter(redis, prefix) };
  };

  it("adds pico-dollars exactly past 2^53 and keeps the day's key expiring", async () => {
    const { redis, prefix, counter: spend } = await counter();
    const big = 9_007_199_254_740_993n; // 2^53 + 1: a Lua or JS number would round it
    expect(await spend.add("2026-12-02", big)).toBe(big);
    expect(await spend.add("2026-12-02", 2n)).toBe(big + 2n);
    expect(await spend.get("2026-12-02")).toBe(big + 2n);
    const ttl = Number(await redis.ttl(`${prefix}budget:spend:2026-12-02`)); // a string: stringNumbers
    expect(ttl).toBeGreaterThan(24 * 3600);
    expect(ttl).toBeLessThanOrEqual(2 * 24 * 3600);
  });

  it("reserves and adds across a reconnect, in order with the other commands", async () => {
    const { redis, counter: spend } = await counter();
    const day = "2026-12-03";
    const limitPico = 10_000_000n; // 10 µUSD
    const reserve = (id: string, pico: bigint) =>
      spend.reserve({ day, id, pico, limitPico, ttlMs: 60_000, nowMs: Date.now() });
    expect(await reserve("a", 4_000_000n)).toBe(true);
    expect(await spend.add(day, 1_000_000n)).toBe(1_000_000n);
    const ready = once(redis, "ready");
    redis.disconnect(true); // reconnects on a new socket
    await ready;
    expect(await reserve("b", 4_000_000n)).toBe(true);
    // spent 1 + reserved 8 + 4 would pass the limit of 10.
    expect(await reserve("c", 4_000_000n)).toBe(false);
    expect(await spend.add(day, 1_000_000n)).toBe(2_000_000n);
    await spend.release(day, "a", 4_000_000n);
    expect(await reserve("c", 4_000_000n)).toBe(true);
  });
});
