import { describe, expect, it } from "vitest";
import { AuthenticationError, BadRequestError, RateLimitError, UpstreamError } from "../../../app/errors";
import { isRetryable, retryDelayMs } from "../../../app/resilience/policies";

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
