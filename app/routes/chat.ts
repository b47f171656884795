import type { Request, Response } from "express";
import { Router } from "express";
import type { Budget } from "../budget/budget";
import { CACHE_STATUS_HEADER, CACHE_TTL_HEADER } from "../cache/directives";
import type { ResponseCache } from "../cache/response-cache";
import { completionToSse, SSE_DONE, sseFrame } from "../cache/sse";
import type { CachedResponse } from "../cache/store";
import { runChatN } from "../chat/fan-out";
import type { Biller, CacheStatus, ChatAnswer } from "../chat/pipeline";
import { type ChatRequest, parseChatRequest } from "../chat/schema";
import type { ConfigStore } from "../config/config-store";
import { HttpError } from "../errors";
import type { ChatContext, ChatGateway, ChatOutcome, StreamResult } from "../gateway/chat-gateway";
import type { GatewayEvents } from "../observability/events";
import type { Clock } from "../resilience/clock";

/** Options of {@link chatRoutes}. */
export interface ChatRoutesOptions {
  readonly gateway: ChatGateway;
  readonly config: ConfigStore;
  readonly clock: Clock;
  /** Reports cache hits (`onRequest`/`onResponse` with `cacheHit`); needed with `cache`. */
  readonly events?: GatewayEvents;
  /** Response cache with single-flight; absent: every request goes upstream. */
  readonly cache?: ResponseCache;
  /** Daily budget, checked before every paid call. */
  readonly budget?: Budget;
  /** The ledger the pipeline's bill step records into. */
  readonly ledger?: Biller;
}

export type { CacheStatus } from "../chat/pipeline";

/**
 * `POST /v1/chat/completions`, OpenAI's shape, JSON or Server-Sent Events.
 * The steps are kept flat so budget and cache checks slot in between
 * validation and the gateway call.
 */
export function chatRoutes(options: ChatRoutesOptions): Router {
  const { clock } = options;
  const router = Router();

  router.post("/v1/chat/completions", async function chatCompletions(req, res) {
    const startedAt = clock.now();
    // 1. Validate: nothing malformed reaches a provider. A refusal is reported
    // like any failed chat request, so ai_gateway_requests_total counts it.
    const request = validated(req, res, startedAt, options);
    // 2. Who is asking, and abort upstream work when they hang up.
    const ctx = chatContext(req, res, startedAt);
    // 3-6. Cache, budget reservation, gateway, bill, answer: app/chat/pipeline.ts.
    const cacheHeaders = { cacheControl: header(req, "cache-control"), ttl: header(req, CACHE_TTL_HEADER) };
    await runChatN(options, { request, ctx, cacheHeaders }, httpAnswer(res, request));
  });

  return router;
}

/** Parses the body; a refusal is emitted as `onError` (provider none) before it is thrown. */
function validated(req: Request, res: Response, startedAt: number, options: ChatRoutesOptions) {
  try {
    return parseChatRequest(req.body);
  } catch (error) {
    if (error instanceof HttpError) {
      const model = (req.body as { model?: unknown } | undefined)?.model;
      options.events?.emit("onError", {
        requestId: String(res.locals["requestId"] ?? ""),
        tenant: String(res.locals["tenant"] ?? "anonymous"),
        ...(typeof model === "string" ? { model } : {}),
        status: error.status,
        type: error.type,
        message: error.message,
        attempts: 0,
        durationMs: options.clock.now() - startedAt,
      });
    }
    throw error;
  }
}

/** The one writer of chat answers over HTTP: JSON or SSE, live or from the cache. */
export function httpAnswer(res: Response, request: ChatRequest): ChatAnswer<void> {
  return {
    completion(result, cache) {
      setChatHeaders(res, result, cache);
      sendJson(res, result.response);
    },
    stream: (result, cache) => sendStream(res, result, cache),
    hit: (entry, status) => sendHit(res, request, entry, status),
  };
}

/** Serves a cached (or shared in-flight, or stale) answer as JSON, or as SSE when the request streams. */
function sendHit(
  res: Response,
  request: ChatRequest,
  entry: CachedResponse,
  status: "hit" | "stale" = "hit",
): void {
  res.setHeader("x-ai-provider", entry.provider);
  res.setHeader(CACHE_STATUS_HEADER, status);
  res.setHeader("x-ai-attempts", "0");
  if (!request.stream) {
    sendJson(res, entry.completion);
    return;
  }
  res.status(200);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  res.end(
    completionToSse(entry.completion, { includeUsage: request.stream_options?.include_usage === true }),
  );
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Builds the gateway context of a request; aborts its signal when the client disconnects. */
export function chatContext(req: Request, res: Response, startedAt: number): ChatContext {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  const tenant = res.locals["tenant"];
  return {
    requestId: String(res.locals["requestId"] ?? req.headers["x-request-id"] ?? ""),
    tenant: typeof tenant === "string" && tenant ? tenant : "anonymous",
    signal: controller.signal,
    startedAt,
  };
}

/** True when the client sent `Cache-Control: no-cache` (or `no-store`). */
export function wantsNoCache(req: Request): boolean {
  const header = req.headers["cache-control"];
  return typeof header === "string" && /\bno-(cache|store)\b/i.test(header);
}

/**
 * Sets `x-ai-provider`, `x-ai-cache`, `x-ai-attempts` (and `x-ai-degraded`),
 * and `x-ai-fallback: <provider>` naming the target that failed first when a
 * fallback answered (docs/design.md section 3; never on cache hits).
 */
export function setChatHeaders(res: Response, outcome: ChatOutcome, cache: CacheStatus): void {
  res.setHeader("x-ai-provider", outcome.degraded ? "none" : outcome.provider);
  res.setHeader("x-ai-cache", cache);
  res.setHeader("x-ai-attempts", String(outcome.attempts));
  if (outcome.degraded) res.setHeader("x-ai-degraded", "true");
  const from = outcome.fallbackUsed && !outcome.degraded ? outcome.failures[0]?.provider : undefined;
  if (from) res.setHeader(FALLBACK_HEADER, from);
}

/** Names the provider that failed first when a fallback answered. */
export const FALLBACK_HEADER = "x-ai-fallback";

/**
 * Writes a stream as OpenAI SSE ending with `data: [DONE]`. A failure after the
 * first chunk ends the stream with an error event (the status is already sent).
 */
export async function sendStream(res: Response, result: StreamResult, cache: CacheStatus): Promise<void> {
  setChatHeaders(res, result, cache);
  res.status(200);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  // No flushHeaders(): the first chunk is already in hand, so headers leave with it in one write.
  try {
    for await (const chunk of result.chunks) {
      if (res.destroyed) return;
      await write(res, sseFrame(chunk));
    }
    await write(res, SSE_DONE);
  } catch (error) {
    if (res.destroyed) return;
    const message = error instanceof Error ? error.message : "stream failed";
    const body = new HttpError(502, {
      message: `Stream interrupted: ${message}`,
      type: "upstream_error",
      code: "stream_interrupted",
    }).toJSON();
    res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }
  res.end();
}

/** Writes a JSON body without Express's `send` (ETag, freshness and charset work the gateway does not need). */
export function sendJson(res: Response, value: unknown): void {
  const body = JSON.stringify(value);
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

// Chunks parsed from one upstream read leave in one socket write: cork on the
// first, uncork once the current I/O callbacks are done.
/** Writes SSE text (corked per tick); a promise when the client's buffer is full, settled on drain or close. */
export function write(res: Response, text: string): Promise<void> | undefined {
  if (!res.writableCorked) {
    res.cork();
    setImmediate(() => res.uncork());
  }
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
