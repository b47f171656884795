import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../app/config/load-config";

describe("REDIS_CACHE_URL", () => {
  it("gives the response cache its own Redis, defaulting to REDIS_URL", () => {
    expect(loadConfig({}).cacheRedisUrl).toBeUndefined();
    expect(loadConfig({ REDIS_URL: "redis://queue:6379" }).cacheRedisUrl).toBe("redis://queue:6379");
    const split = loadConfig({ REDIS_URL: "redis://queue:6379", REDIS_CACHE_URL: "redis://cache:6379" });
    expect(split.redisUrl).toBe("redis://queue:6379");
    expect(split.cacheRedisUrl).toBe("redis://cache:6379");
  });

  it("fails on an invalid REDIS_CACHE_URL without printing it (it may carry a password)", () => {
    let error: unknown;
    try {
      loadConfig({ REDIS_CACHE_URL: "not a url :s3cret-pass" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toContain("REDIS_CACHE_URL");
    expect(problems).not.toContain("s3cret-pass");
  });
});
