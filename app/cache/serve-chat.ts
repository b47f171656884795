import type { Request, Response } from "express";
import type {
  ChatCompletion as OpenAIChatCompletion,
  ChatCompletionChunk as OpenAIChatCompletionChunk,
} from "openai/resources/chat/completions";
import type { Budget, Reservation } from "../budget/budget";
import type { ChatRequest } from "../chat/schema";
import type { ChatCompletion, ChatCompletionChunk } from "../chat/types";
import { fromOpenAIUsage, toOpenAIUsage } from "../chat/types";
import type { ConfigStore } from "../config/config-store";
import type { ProviderName } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { ChatContext, ChatGateway, CompletionResult, StreamResult } from "../gateway/chat-gateway";
import type { GatewayEvents } from "../observability/events";
import { cacheKey, canonicalJson } from "./cache-key";
import { CACHE_STATUS_HEADER, CACHE_TTL_HEADER, cacheDirectives } from "./directives";
import type { ResponseCache } from "./response-cache";
import { accumulateChunks, completionToSse } from "./sse";
import type { CachedResponse } from "./store";

/** `x-ai-cache` values (docs/design.md section 3). */
export type CacheStatus = "hit" | "miss" | "bypass";

/** How the route writes answers (its own header, JSON and SSE code). */
export interface ChatSenders {
  /** Sets `x-ai-provider`, `x-ai-cache`, `x-ai-attempts`. */
  headers(res: Response, result: CompletionResult, cache: CacheStatus): void;
  json(res: Response, body: unknown): void;
  stream(res: Response, result: StreamResult, cache: CacheStatus): Promise<void>;
}

/** Collaborators of {@link serveChat}. */
export interface ServeChatOptions {
  readonly gateway: ChatGateway;
  readonly config: ConfigStore;
  /** Where cache hits are reported (the ledger records them at zero cost). */
  readonly events?: GatewayEvents;
  readonly clock: { now(): number };
  readonly cache?: ResponseCache;
  readonly budget?: Budget;
}

/**
 * The chat request path after validation (docs/design.md section 5): cache lookup,
 * budget reservation on a miss, then the gateway under single-flight; the answer is
 * stored (streams once complete) and a hit is replayed as JSON or SSE and
 * reported with `cacheHit`, so the ledger records it at zero cost.
 */
export async function serveChat(
  req: Request,
  res: Response,
  request: ChatRequest,
  ctx: ChatContext,
  options: ServeChatOptions,
  send: ChatSenders,
): Promise<void> {
  const config = options.config.get();
  const directives = cacheDirectives(
    { cacheControl: header(req, "cache-control"), ttl: header(req, CACHE_TTL_HEADER) },
    {
      enabled: config.cachingEnabled && options.cache !== undefined,
      defaultTtlSeconds: config.cacheTtlSeconds,
    },
  );
  const status: CacheStatus = directives.bypassed ? "bypass" : "miss";
  const budget = reserveOnMiss(request, config, options.budget);
  try {
    const produce = () => callGateway(res, request, ctx, options.gateway, send, status);
    if (!options.cache) {
      await budget.reserve();
      await produce();
      return;
    }
    const key = requestCacheKey(request, ctx, config);
    const resolved = await options.cache.resolve(key, directives, produce, {
      onMiss: budget.reserve,
      // This client hanging up is no reason to fail the identical requests waiting on it.
      shareError: () => !ctx.signal.aborted,
    });
    if (resolved.cached) replay(res, request, ctx, resolved.cached, options, send);
  } finally {
    await budget.release();
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

/**
 * The same path for jobs and batch items, without HTTP: cache lookup under the
 * configured defaults (no client directives), budget check on a miss, then
 * `gateway.complete` under single-flight, so identical items share one
 * upstream call and a hit is reported as a zero-cost cache hit. Answers the
 * OpenAI completion body.
 */
export async function completeCached(
  request: ChatRequest,
  ctx: ChatContext,
  options: ServeChatOptions,
): Promise<ChatCompletion> {
  const produce = async () => {
    const result = await options.gateway.complete(request, ctx);
    return { value: result.response, entry: result.degraded ? undefined : entryOf(result, result.response) };
  };
  const config = options.config.get();
  const budget = reserveOnMiss(request, config, options.budget);
  try {
    if (!options.cache || !config.cachingEnabled) {
      await budget.reserve();
      return (await produce()).value;
    }
    const directives = cacheDirectives({}, { enabled: true, defaultTtlSeconds: config.cacheTtlSeconds });
    const key = requestCacheKey(request, ctx, config);
    const resolved = await options.cache.resolve(key, directives, produce, {
      onMiss: budget.reserve,
      shareError: () => !ctx.signal.aborted,
    });
    if (resolved.cached) {
      reportHit(request, ctx, resolved.cached, options);
      return resolved.cached.completion as unknown as ChatCompletion;
    }
    return resolved.produced!;
  } finally {
    await budget.release();
  }
}

/** Calls the gateway and sends its answer; returns the entry to cache, if the answer may be cached. */
async function callGateway(
  res: Response,
  request: ChatRequest,
  ctx: ChatContext,
  gateway: ChatGateway,
  send: ChatSenders,
  status: CacheStatus,
): Promise<{ value: undefined; entry?: CachedResponse }> {
  if (!request.stream) {
    const result = await gateway.complete(request, ctx);
    send.headers(res, result, status);
    send.json(res, result.response);
    return { value: undefined, entry: result.degraded ? undefined : entryOf(result, result.response) };
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
  await send.stream(res, { ...result, chunks: tap() }, status);
  // Only a stream that reached its end is an answer worth keeping.
  if (!complete || result.degraded) return { value: undefined };
  // Our chunk type is OpenAI's wire format with readonly arrays.
  const folded = accumulateChunks(seen as unknown as OpenAIChatCompletionChunk[]);
  // The usage the provider reported in the stream, whether or not the client asked to see it.
  folded.usage = toOpenAIUsage(result.usage());
  return { value: undefined, entry: entryOf(result, folded as unknown as ChatCompletion) };
}

function entryOf(result: CompletionResult | StreamResult, completion: ChatCompletion): CachedResponse {
  return {
    provider: result.provider,
    model: result.model,
    completion: completion as unknown as OpenAIChatCompletion,
    storedAt: Date.now(),
  };
}

/** Serves a cached (or shared in-flight) answer and reports it as a zero-cost hit. */
function replay(
  res: Response,
  request: ChatRequest,
  ctx: ChatContext,
  entry: CachedResponse,
  options: ServeChatOptions,
  send: ChatSenders,
): void {
  res.setHeader("x-ai-provider", entry.provider);
  res.setHeader(CACHE_STATUS_HEADER, "hit");
  res.setHeader("x-ai-attempts", "0");
  if (request.stream) {
    res.status(200);
    res.setHeader("content-type", "text/event-stream; charset=utf-8");
    res.setHeader("cache-control", "no-cache");
    res.setHeader("x-accel-buffering", "no");
    res.end(
      completionToSse(entry.completion, { includeUsage: request.stream_options?.include_usage === true }),
    );
  } else {
    send.json(res, entry.completion);
  }
  reportHit(request, ctx, entry, options);
}

/** Reports a cache hit through the hooks: metrics count it, the ledger records it at zero cost. */
function reportHit(
  request: ChatRequest,
  ctx: ChatContext,
  entry: CachedResponse,
  options: ServeChatOptions,
): void {
  const usage = fromOpenAIUsage(entry.completion.usage);
  options.events?.emit("onRequest", {
    requestId: ctx.requestId,
    tenant: ctx.tenant,
    model: request.model,
    stream: request.stream === true,
    startedAt: ctx.startedAt,
  });
  options.events?.emit("onResponse", {
    requestId: ctx.requestId,
    tenant: ctx.tenant,
    provider: entry.provider as ProviderName,
    model: entry.model,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    durationMs: options.clock.now() - ctx.startedAt,
    upstreamMs: 0,
    attempts: 0,
    fallbackUsed: false,
    cacheHit: true,
    stream: request.stream === true,
    status: 200,
  });
}

/**
 * The target a request's answer is keyed by, resolved without side effects (a
 * round-robin alias must not advance): an alias keys by its name and its route
 * definition, `<provider>/<model>` by that target, anything else by the primary
 * provider with that model.
 */
export function cacheTarget(model: string, config: GatewayConfig): { provider: string; model: string } {
  const route = config.file.routes[model];
  if (route) return { provider: "route", model: `${model}=${canonicalJson(route)}` };
  const slash = model.indexOf("/");
  if (slash > 0) return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
  return { provider: config.provider, model };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** The cache key of a request for this tenant, under the target it resolves to now. */
function requestCacheKey(request: ChatRequest, ctx: ChatContext, config: GatewayConfig): string {
  const target = cacheTarget(request.model, config);
  return cacheKey({
    tenant: ctx.tenant,
    provider: target.provider,
    model: target.model,
    request: request as unknown as Record<string, unknown>,
  });
}
