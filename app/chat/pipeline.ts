import type { Budget, Reservation } from "../budget/budget";
import { cacheDirectives } from "../cache/directives";
import type { ResponseCache } from "../cache/response-cache";
import { accumulateChunks } from "../cache/sse";
import type { CachedResponse } from "../cache/store";
import type { ConfigStore } from "../config/config-store";
import type { ProviderName } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { ChatContext, ChatGateway, CompletionResult, StreamResult } from "../gateway/chat-gateway";
import { requestCacheKey } from "../gateway/routing";
import type { GatewayEvents } from "../observability/events";
import type { Clock } from "../resilience/clock";
import type { ChatRequest } from "./schema";
import { type ChatCompletion, type ChatCompletionChunk, fromOpenAIUsage, toOpenAIUsage } from "./types";

/** `x-ai-cache` values (docs/design.md section 3). */
export type CacheStatus = "hit" | "miss" | "bypass" | "stale";

/** What the pipeline is built on; the same for every route that calls it. */
export interface ChatPipelineDeps {
  readonly gateway: ChatGateway;
  readonly config: ConfigStore;
  readonly clock: Clock;
  /** Where cache hits are reported (metrics count them, the ledger records them at zero cost). */
  readonly events?: GatewayEvents;
  /** Response cache with single-flight; absent: every request goes upstream. */
  readonly cache?: ResponseCache;
  /** Daily budget; a miss reserves its worst case before it goes upstream. */
  readonly budget?: Budget;
}

/** One validated request and who asks; what every caller (HTTP chat, jobs, batch, later routes) passes. */
export interface ChatInput {
  readonly request: ChatRequest;
  readonly ctx: ChatContext;
  /**
   * The client's cache headers (`Cache-Control`, `x-ai-cache-ttl`), for HTTP
   * callers. Absent (jobs, batch): the configured defaults, and no cache at
   * all while caching is off.
   */
  readonly cacheHeaders?: { readonly cacheControl?: string; readonly ttl?: string };
}

/**
 * How a caller answers (the last step). HTTP writes JSON or SSE as the answer
 * arrives; jobs and batch keep the completion. `stream` absent: the request is
 * served as one completion even when it asked to stream.
 */
export interface ChatAnswer<T> {
  completion(result: CompletionResult, cache: CacheStatus): T;
  stream?(result: StreamResult, cache: CacheStatus): Promise<T>;
  /** A cached or shared in-flight answer; `stale`: an expired one served because every provider failed. */
  hit(entry: CachedResponse, status?: "hit" | "stale"): T;
}

/**
 * The chat request path after validation (docs/design.md section 5), top to bottom:
 * 1. cache key of the target the model resolves to (app/gateway/routing.ts),
 * 2. cache lookup under single-flight (app/cache/response-cache.ts),
 * 3. on a miss: budget reservation of the worst case (app/budget),
 * 4. the gateway: routing, retry, breakers, failover (app/gateway/chat-gateway.ts),
 * 5. bill: the gateway's `onResponse` hook is what the ledger records (app/ledger,
 *    attached in app/main.ts) and the reservation is released once it is,
 * 6. answer through the caller's {@link ChatAnswer}; a complete answer is stored,
 *    a hit is answered from the store and reported as a zero-cost hit.
 */
export async function runChat<T>(
  deps: ChatPipelineDeps,
  input: ChatInput,
  answer: ChatAnswer<T>,
): Promise<T> {
  const { request, ctx } = input;
  const config = deps.config.get();
  const reservation = reserveOnMiss(request, config, deps.budget);
  const directives = cacheDirectives(input.cacheHeaders ?? {}, {
    enabled: config.cachingEnabled && deps.cache !== undefined,
    defaultTtlSeconds: config.cacheTtlSeconds,
  });
  const status: CacheStatus = directives.bypassed ? "bypass" : "miss";
  const produce = () => callGateway(deps.gateway, input, answer, status);
  try {
    // HTTP callers go through the cache whenever there is one (their directives may bypass it);
    // jobs and batch only while caching is on.
    const useCache = input.cacheHeaders !== undefined || config.cachingEnabled;
    if (!deps.cache || !useCache) {
      await reservation.reserve();
      return (await produce()).value;
    }
    const resolved = await deps.cache.resolve(
      requestCacheKey(request, ctx.tenant, config),
      directives,
      produce,
      {
        onMiss: reservation.reserve,
        // This client hanging up is no reason to fail the identical requests waiting on it.
        shareError: () => !ctx.signal.aborted,
        staleIfErrorSeconds: config.cacheStaleIfErrorSeconds,
      },
    );
    if (!resolved.cached) return resolved.produced as T;
    const answered = answer.hit(resolved.cached, resolved.outcome === "stale" ? "stale" : "hit");
    reportHit(deps, input, resolved.cached);
    return answered;
  } finally {
    // The bill step: the gateway's onResponse has been recorded by now; the reservation goes.
    await reservation.release();
  }
}

/**
 * The budget step of a miss: reserve the call's worst case before it goes
 * upstream, release once its real cost is recorded (whatever happened).
 */
function reserveOnMiss(request: ChatRequest, config: GatewayConfig, budget: Budget | undefined) {
  let reservation: Reservation | undefined;
  return {
    reserve: async () => {
      reservation = await budget?.reserve(request, config);
    },
    release: async () => {
      await reservation?.release();
    },
  };
}

/** Calls the gateway and answers; returns the entry to cache, if the answer may be cached. */
async function callGateway<T>(
  gateway: ChatGateway,
  input: ChatInput,
  answer: ChatAnswer<T>,
  status: CacheStatus,
): Promise<{ value: T; entry?: CachedResponse }> {
  const { request, ctx } = input;
  if (!request.stream || !answer.stream) {
    const result = await gateway.complete(request, ctx);
    const value = answer.completion(result, status);
    return { value, entry: result.degraded ? undefined : entryOf(result, result.response) };
  }
  const result = await gateway.stream(request, ctx);
  const seen: ChatCompletionChunk[] = [];
  let complete = false;
  async function* tap(): AsyncGenerator<ChatCompletionChunk> {
    for await (const chunk of result.chunks) {
      seen.push(chunk);
      yield chunk;
    }
    complete = true;
  }
  const value = await answer.stream({ ...result, chunks: tap() }, status);
  // Only a stream that reached its end is an answer worth keeping.
  if (!complete || result.degraded) return { value };
  // With the usage the provider reported in the stream, whether or not the client asked to see it.
  const folded = accumulateChunks(seen, toOpenAIUsage(result.usage()));
  return { value, entry: entryOf(result, folded) };
}

function entryOf(result: CompletionResult | StreamResult, completion: ChatCompletion): CachedResponse {
  return { provider: result.provider, model: result.model, completion, storedAt: Date.now() };
}

/** Reports a cache hit through the hooks: metrics count it, the ledger records it at zero cost. */
function reportHit(deps: ChatPipelineDeps, input: ChatInput, entry: CachedResponse): void {
  const { request, ctx } = input;
  const usage = fromOpenAIUsage(entry.completion.usage);
  deps.events?.emit("onRequest", {
    requestId: ctx.requestId,
    tenant: ctx.tenant,
    model: request.model,
    stream: request.stream === true,
    startedAt: ctx.startedAt,
  });
  deps.events?.emit("onResponse", {
    requestId: ctx.requestId,
    tenant: ctx.tenant,
    provider: entry.provider as ProviderName,
    model: entry.model,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    durationMs: deps.clock.now() - ctx.startedAt,
    upstreamMs: 0,
    attempts: 0,
    fallbackUsed: false,
    cacheHit: true,
    stream: request.stream === true,
    status: 200,
  });
}
