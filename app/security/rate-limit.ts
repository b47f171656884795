import type { RequestHandler } from "express";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { ConfigStore } from "../config/config-store";
import { HttpError } from "../errors";
import type { GatewayEvents } from "../observability/events";
import type { Metrics } from "../observability/metrics";
import { limitsOf } from "./limits";

type Limiter = RateLimiterRedis | RateLimiterMemory;

/** Options of {@link ClientRateLimiter}. */
export interface ClientRateLimiterOptions {
  readonly config: ConfigStore;
  /** Shared counters across replicas; in-process counters without it. */
  readonly redis?: Redis;
  /** Redis key prefix; tests pass a unique one. @default "ai-gateway:rl" */
  readonly keyPrefix?: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/**
 * Per-client-key limits on requests and tokens per minute (rate-limiter-flexible).
 * With Redis every replica shares the counters; when Redis fails, an
 * in-process limiter stands in instead of failing requests. Limits are read
 * from the config per request, so a reload changes them.
 */
export class ClientRateLimiter {
  private readonly limiters = new Map<string, Limiter>();
  /** The in-process limiter standing in for each Redis one while Redis fails. */
  private readonly insurance = new Map<string, RateLimiterMemory>();

  constructor(private readonly options: ClientRateLimiterOptions) {}

  private limiter(kind: "requests" | "tokens", points: number): Limiter {
    const name = `${kind}:${points}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      const keyPrefix = `${this.options.keyPrefix ?? "ai-gateway:rl"}:${kind}`;
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix });
      this.insurance.set(name, memory);
      limiter = this.options.redis
        ? new RateLimiterRedis({
            storeClient: this.options.redis,
            points,
            duration: 60,
            keyPrefix,
            insuranceLimiter: memory,
          })
        : memory;
      this.limiters.set(name, limiter);
    }
    return limiter;
  }

  /**
   * Counts `weight` requests for the tenant; throws a 429 HttpError when a
   * limit is reached. Returns OpenAI-style `x-ratelimit-*` headers to send.
   */
  async admit(tenant: string, weight = 1): Promise<Record<string, string>> {
    const headers: Record<string, string> = {};
    const limits = limitsOf(this.options.config.get());
    if (limits.tokensPerMinute !== undefined) {
      const used = await this.tokensUsed(tenant, limits.tokensPerMinute);
      if (used >= limits.tokensPerMinute) {
        const state = await this.limiter("tokens", limits.tokensPerMinute).get(tenant);
        throw this.refuse("tokens", state?.msBeforeNext ?? 0, `${limits.tokensPerMinute} tokens per minute`);
      }
      headers["x-ratelimit-limit-tokens"] = String(limits.tokensPerMinute);
      headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, limits.tokensPerMinute - used));
    }
    if (limits.requestsPerMinute !== undefined) {
      try {
        const result = await this.limiter("requests", limits.requestsPerMinute).consume(tenant, weight);
        headers["x-ratelimit-limit-requests"] = String(limits.requestsPerMinute);
        headers["x-ratelimit-remaining-requests"] = String(result.remainingPoints);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        throw this.refuse(
          "requests",
          rejection.msBeforeNext,
          `${limits.requestsPerMinute} requests per minute`,
        );
      }
    }
    return headers;
  }

  /**
   * Tokens a tenant used in the current window. With Redis a single GET of the
   * limiter's key (rate-limiter-flexible's `get` sends MULTI, GET, PTTL, EXEC:
   * four commands per request for a TTL only a refusal needs, issue 17); the
   * in-process insurance limiter when Redis fails, as the library's `get` does.
   */
  private async tokensUsed(tenant: string, limit: number): Promise<number> {
    const limiter = this.limiter("tokens", limit);
    if (this.options.redis && limiter instanceof RateLimiterRedis) {
      try {
        const value = await this.options.redis.get(limiter.getKey(tenant));
        return value === null ? 0 : Number(value);
      } catch {
        // As the library's get does on a Redis error: ask the insurance limiter.
        return (await this.insurance.get(`tokens:${limit}`)?.get(tenant))?.consumedPoints ?? 0;
      }
    }
    return (await limiter.get(tenant))?.consumedPoints ?? 0;
  }

  /** Charges tokens a tenant used (fed from `onResponse`); later requests are refused once over. */
  async recordTokens(tenant: string, tokens: number): Promise<void> {
    const limit = limitsOf(this.options.config.get()).tokensPerMinute;
    if (limit === undefined || tokens <= 0) return;
    await this.limiter("tokens", limit).penalty(tenant, Math.ceil(tokens));
  }

  /** Subscribes token accounting to the response hook. */
  subscribe(events: GatewayEvents): () => void {
    return events.on("onResponse", (event) => {
      if (event.cacheHit) return;
      this.recordTokens(event.tenant, event.inputTokens + event.outputTokens).catch((error: unknown) =>
        this.options.logger.warn({ err: { message: (error as Error).message } }, "token accounting failed"),
      );
    });
  }

  private refuse(reason: "requests" | "tokens", msBeforeNext: number, limit: string): HttpError {
    this.options.metrics?.rateLimited(reason);
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new HttpError(429, {
      message: `Rate limit reached for this API key: ${limit}; retry after ${retryAfter} s`,
      type: "rate_limit_error",
      code: reason === "requests" ? "rate_limit_requests" : "rate_limit_tokens",
      headers: { "retry-after": String(retryAfter) },
    });
  }
}

/**
 * Middleware: admits one request for `res.locals.tenant` (it runs before the
 * body is read; the batch route charges its extra items itself).
 */
export function rateLimit(options: { limiter: ClientRateLimiter }): RequestHandler {
  return async function limitRate(_req, res, next) {
    const headers = await options.limiter.admit(String(res.locals["tenant"] ?? "anonymous"));
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    next();
  };
}
