import type { Budget, Reservation } from "../budget/budget";
import { cacheDirectives } from "../cache/directives";
import type { ResponseCache } from "../cache/response-cache";
import { accumulateChunks } from "../cache/sse";
import type { CachedResponse } from "../cache/store";
import type { ConfigStore } from "../config/config-store";
import type { ProviderName } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { ChatContext, ChatGateway, CompletionResult, StreamResult } from "../gateway/chat-gateway";
import { type Resolution, requestCacheKey } from "../gateway/routing";
import type { GatewayEvents, ResponseEvent } from "../observability/events";
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
  /** The bill step's ledger (app/ledger/ledger.ts `CostLedger`); absent: nothing is recorded. */
  readonly ledger?: Biller;
}

/** Records what a call cost: one row per billed call, priced, `onCost` emitted on `events`. */
export interface Biller {
  record(event: ResponseEvent, events?: GatewayEvents): unknown;
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
 * 1. the model resolved to its targets once (app/gateway/routing.ts via
 *    `ChatGateway.resolve`), which key the cache and go to the gateway,
 * 2. cache lookup under single-flight (app/cache/response-cache.ts),
 * 3. on a miss: budget reservation of the worst case (app/budget),
 * 4. the gateway: routing, retry, breakers, failover (app/gateway/chat-gateway.ts),
 * 5. bill ({@link bill}): the gateway calls `ctx.bill` once it knows what a call
 *    cost (a completion, a stream's end, a stream cut short by the client or
 *    the upstream); a hit is billed at zero cost. The ledger records it
 *    (app/ledger/ledger.ts) and the reservation is released once it is,
 * 6. answer through the caller's {@link ChatAnswer}; a complete answer is stored,
 *    a hit is answered from the store and reported as a zero-cost hit.
 */
export async function runChat<T>(
  deps: ChatPipelineDeps,
  input: ChatInput,
  answer: ChatAnswer<T>,
): Promise<T> {
  const { request } = input;
  const ctx: ChatContext = { ...input.ctx, bill: (event) => bill(deps, event) };
  const config = deps.config.get();
  // Targets resolved once: the cache key and the gateway use the same ones.
  const resolution = deps.gateway.resolve(
    request,
    ctx,
    request.stream === true && answer.stream !== undefined,
  );
  const reservation = reserveOnMiss(request, config, deps.budget);
  const directives = cacheDirectives(input.cacheHeaders ?? {}, {
    enabled: config.cachingEnabled && deps.cache !== undefined,
    defaultTtlSeconds: config.cacheTtlSeconds,
  });
  const status: CacheStatus = directives.bypassed ? "bypass" : "miss";
  const produce = () => callGateway(deps.gateway, { ...input, ctx }, resolution, answer, status);
  try {
    // HTTP callers go through the cache whenever there is one (their directives may bypass it);
    // jobs and batch only while caching is on.
    const useCache = input.cacheHeaders !== undefined || config.cachingEnabled;
    // Neither looked up nor stored (e.g. `no-store`): no cache key to compute (issue 17).
    if (!deps.cache || !useCache || (!directives.lookup && !directives.write)) {
      await reservation.reserve();
      return (await produce()).value;
    }
    const resolved = await deps.cache.resolve(
      requestCacheKey(request, ctx.tenant, resolution, config),
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

/** The bill step: the ledger records the call (a hit at zero cost) and emits `onCost`. */
function bill(deps: ChatPipelineDeps, event: ResponseEvent): void {
  deps.ledger?.record(event, deps.events);
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
  resolution: Resolution,
  answer: ChatAnswer<T>,
  status: CacheStatus,
): Promise<{ value: T; entry?: CachedResponse }> {
  const { request, ctx } = input;
  if (!request.stream || !answer.stream) {
    const result = await gateway.complete(request, ctx, resolution);
    const value = answer.completion(result, status);
    return { value, entry: result.degraded ? undefined : entryOf(result, result.response) };
  }
  const result = await gateway.stream(request, ctx, resolution);
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

/** Reports a cache hit through the hooks (metrics count it) and bills it at zero cost. */
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
  const event: ResponseEvent = {
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
  };
  bill(deps, event);
  deps.events?.emit("onResponse", event);
}
