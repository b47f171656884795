import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createRedis } from "../../../app/data/redis";
import { HttpError } from "../../../app/errors";
import { ClientRateLimiter } from "../../../app/security/rate-limit";
import { testDeps } from "../../helpers/deps";
import { REDIS_URL, uniquePrefix } from "../../helpers/real-services";
import { deadPort } from "../../helpers/tcp-proxy";

// The tokens-per-minute check reads the limiter's Redis key with one GET
// (issue 17); these pin what it answers: remaining tokens, the refusal with its
// Retry-After, no request counted for a request refused on tokens, and the
// in-process stand-in while Redis is down.
describe("ClientRateLimiter tokens per minute", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const limiterWith = async (limits: Record<string, number>, redisUrl: string | undefined) => {
    const path = join(await mkdtemp(join(tmpdir(), "rate-limit-")), "config.json");
    await writeFile(path, JSON.stringify({ limits }));
    const deps = testDeps({ AI_CONFIG_FILE: path });
    let redis: ReturnType<typeof createRedis> | undefined;
    if (redisUrl) {
      redis = createRedis({ url: redisUrl, logger: deps.logger, name: "rl-unit" });
      cleanups.push(() => redis?.disconnect());
      if (redisUrl === REDIS_URL && redis.status !== "ready") await once(redis, "ready");
    }
    const keyPrefix = uniquePrefix("rl-unit");
    const limiter = new ClientRateLimiter({
      config: deps.config,
      ...(redis ? { redis } : {}),
      keyPrefix,
      logger: deps.logger,
    });
    return Object.assign(limiter, { redis, keyPrefix });
  };

  const refusal = async (admit: Promise<unknown>): Promise<HttpError> => {
    const error = await admit.then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  };

  it.each([
    ["Redis", REDIS_URL],
    ["in process", undefined],
  ])("counts tokens and refuses once they are spent (%s)", async (_name, url) => {
    const limiter = await limiterWith({ tokensPerMinute: 100, requestsPerMinute: 10 }, url);
    expect(await limiter.admit("t1")).toEqual({
      "x-ratelimit-limit-tokens": "100",
      "x-ratelimit-remaining-tokens": "100",
      "x-ratelimit-limit-requests": "10",
      "x-ratelimit-remaining-requests": "9",
    });
    await limiter.recordTokens("t1", 60);
    const headers = await limiter.admit("t1");
    expect(headers["x-ratelimit-remaining-tokens"]).toBe("40");
    expect(headers["x-ratelimit-remaining-requests"]).toBe("8");
    await limiter.recordTokens("t1", 40.5);
    const refused = await refusal(limiter.admit("t1"));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers?.["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another tenant is untouched; the refused request was not counted as a request.
    expect((await limiter.admit("t2"))["x-ratelimit-remaining-tokens"]).toBe("100");
    await limiter.recordTokens("t3", 1);
    const t3 = await limiter.admit("t3");
    expect(t3["x-ratelimit-remaining-tokens"]).toBe("99");
    expect(t3["x-ratelimit-remaining-requests"]).toBe("9");
  });

  it("does not count a request refused on tokens against the requests limit", async () => {
    const limiter = await limiterWith({ tokensPerMinute: 10, requestsPerMinute: 3 }, REDIS_URL);
    await limiter.admit("t");
    await limiter.recordTokens("t", 10);
    for (let i = 0; i < 3; i++) expect((await refusal(limiter.admit("t"))).status).toBe(429);
    expect(await limiter.redis?.get(`${limiter.keyPrefix}:requests:t`)).toBe("1");
  });

  it("keeps counting tokens in process while Redis is unreachable", async () => {
    const limiter = await limiterWith({ tokensPerMinute: 50 }, `redis://127.0.0.1:${await deadPort()}`);
    expect((await limiter.admit("t"))["x-ratelimit-remaining-tokens"]).toBe("50");
    await limiter.recordTokens("t", 50);
    expect((await refusal(limiter.admit("t"))).status).toBe(429);
  });
});
