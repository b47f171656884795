import { describe, expect, it } from "vitest";
import { AuthenticationError, BadRequestError, RateLimitError, UpstreamError } from "../../../app/errors";
import {
  executeResilient,
  isRetryable,
  ProviderBreakers,
  retryDelayMs,
} from "../../../app/resilience/policies";

const options = {
  timeoutMs: 1000,
  maxRetries: 3,
  backoffBaseMs: 200,
  backoffMaxMs: 1000,
  retryAfterCapMs: 5000,
};

describe("retry decisions", () => {
  it("backs off exponentially with jitter in [d/2, d], capped", () => {
    expect(retryDelayMs(new UpstreamError("x", "openai"), 1, options, () => 0)).toBe(100);
    expect(retryDelayMs(new UpstreamError("x", "openai"), 1, options, () => 1)).toBe(200);
    expect(retryDelayMs(new UpstreamError("x", "openai"), 3, options, () => 1)).toBe(800);
    expect(retryDelayMs(new UpstreamError("x", "openai"), 6, options, () => 1)).toBe(1000);
  });

  it("waits exactly Retry-After when the provider sent one", () => {
    expect(retryDelayMs(new RateLimitError("x", "openai", 2), 1, options, () => 0)).toBe(2000);
  });

  it("never retries auth or bad requests, and fails over instead of waiting past the cap", () => {
    expect(isRetryable(new AuthenticationError("x", "openai", 401), options)).toBe(false);
    expect(isRetryable(new BadRequestError("x", "openai", 400), options)).toBe(false);
    expect(isRetryable(new RateLimitError("x", "openai", 5), options)).toBe(true);
    expect(isRetryable(new RateLimitError("x", "openai", 6), options)).toBe(false);
    expect(isRetryable(new TypeError("bug"), options)).toBe(false);
  });
});

describe("ProviderBreakers with deferred successes", () => {
  const clock = { now: () => Date.now(), sleep: () => Promise.resolve() };
  const run = (breakers: ProviderBreakers, deferSuccess: boolean, value: string) =>
    executeResilient({
      breaker: breakers.get("openai"),
      retry: { timeoutMs: 1_000, maxRetries: 0 },
      clock,
      signal: new AbortController().signal,
      timeoutReason: () => new Error("timed out"),
      deferSuccess,
      attempt: async () => value,
    });

  it("opens after consecutive stream failures even though each stream's first chunk arrived", async () => {
    const states: string[] = [];
    const breakers = new ProviderBreakers({ threshold: 2, cooldownMs: 60_000 }, (_, state) =>
      states.push(state),
    );
    for (let i = 0; i < 2; i++) {
      expect(await run(breakers, true, "first chunk")).toBe("first chunk");
      await breakers.recordFailure("openai", new UpstreamError("openai: stream died", "openai"));
    }
    expect(states).toEqual(["open"]);
    expect(breakers.state("openai")).toBe("open");
  });

  it("counts a stream's clean end as the success that resets the count", async () => {
    const breakers = new ProviderBreakers({ threshold: 2, cooldownMs: 60_000 }, () => undefined);
    await breakers.recordFailure("openai", new UpstreamError("openai: stream died", "openai"));
    await run(breakers, true, "first chunk");
    await breakers.recordSuccess("openai");
    await breakers.recordFailure("openai", new UpstreamError("openai: stream died", "openai"));
    expect(breakers.state("openai")).toBe("closed");
  });
});
