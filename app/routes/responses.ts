import type { Response as ExpressResponse } from "express";
import { Router } from "express";
import type { Budget } from "../budget/budget";
import { CACHE_STATUS_HEADER, CACHE_TTL_HEADER } from "../cache/directives";
import type { ResponseCache } from "../cache/response-cache";
import { completionToChunks } from "../cache/sse";
import { type ChatAnswer, runChat } from "../chat/pipeline";
import { fromOpenAIUsage } from "../chat/types";
import type { ConfigStore } from "../config/config-store";
import type { ChatGateway, StreamResult } from "../gateway/chat-gateway";
import type { GatewayEvents } from "../observability/events";
import type { Clock } from "../resilience/clock";
import {
  formatResponseEvent,
  newResponseId,
  parseResponsesRequest,
  type ResponseContext,
  ResponsesStreamTranslator,
  toChatRequest,
  toResponse,
} from "../responses";
import { chatContext, sendJson, setChatHeaders, write } from "./chat";

/** Options of {@link responsesRoutes}: what the chat pipeline runs on. */
export interface ResponsesRoutesOptions {
  readonly gateway: ChatGateway;
  readonly config: ConfigStore;
  readonly clock: Clock;
  readonly events?: GatewayEvents;
  readonly cache?: ResponseCache;
  readonly budget?: Budget;
}

/**
 * `POST /v1/responses`, stateless (docs/design.md section 3): the request is
 * translated to a chat request (app/responses/to-chat.ts) and run through the
 * chat pipeline (app/chat/pipeline.ts), so routing, failover, cache, budget
 * and ledger apply as for chat; the answer is a Response object, or the
 * Responses API's SSE event sequence when `stream` is set.
 * `previous_response_id`, `store: true` and `conversation` are 400s.
 */
export function responsesRoutes(options: ResponsesRoutesOptions): Router {
  const router = Router();

  router.post("/v1/responses", async function responses(req, res) {
    const startedAt = options.clock.now();
    const request = parseResponsesRequest(req.body);
    const chat = toChatRequest(request);
    const ctx = chatContext(req, res, startedAt);
    const context: ResponseContext = {
      id: newResponseId(),
      createdAt: Math.floor(startedAt / 1000),
      request,
    };
    const cacheHeaders = {
      cacheControl: header(req.headers, "cache-control"),
      ttl: header(req.headers, CACHE_TTL_HEADER),
    };
    await runChat(options, { request: chat, ctx, cacheHeaders }, responsesAnswer(res, context));
  });

  return router;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Writes chat answers (live or cached) as Responses API JSON or SSE events. */
function responsesAnswer(res: ExpressResponse, context: ResponseContext): ChatAnswer<void> {
  return {
    completion(result, cache) {
      setChatHeaders(res, result, cache);
      sendJson(res, toResponse(result.response, context, result.usage));
    },
    stream: (result, cache) => {
      setChatHeaders(res, result, cache);
      return sendEvents(res, context, result);
    },
    hit(entry) {
      res.setHeader("x-ai-provider", entry.provider);
      res.setHeader(CACHE_STATUS_HEADER, "hit");
      res.setHeader("x-ai-attempts", "0");
      const usage = fromOpenAIUsage(entry.completion.usage);
      if (!context.request.stream) {
        sendJson(res, toResponse(entry.completion, context, usage));
        return;
      }
      const translator = new ResponsesStreamTranslator(context);
      const events = translator.start();
      for (const chunk of completionToChunks(entry.completion)) events.push(...translator.push(chunk));
      events.push(...translator.finish(usage));
      openStream(res);
      res.end(events.map(formatResponseEvent).join(""));
    },
  };
}

function openStream(res: ExpressResponse): void {
  res.status(200);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
}

/**
 * Writes a live chat stream as Responses events: `response.created` …
 * `response.completed` with the usage the provider reported. A failure after
 * the first chunk ends the stream with `response.failed` (the status is sent).
 */
async function sendEvents(
  res: ExpressResponse,
  context: ResponseContext,
  result: StreamResult,
): Promise<void> {
  openStream(res);
  const translator = new ResponsesStreamTranslator(context);
  try {
    await write(res, translator.start().map(formatResponseEvent).join(""));
    for await (const chunk of result.chunks) {
      if (res.destroyed) return;
      const events = translator.push(chunk);
      if (events.length > 0) await write(res, events.map(formatResponseEvent).join(""));
    }
    await write(res, translator.finish(result.usage()).map(formatResponseEvent).join(""));
  } catch (error) {
    if (res.destroyed) return;
    const message = error instanceof Error ? error.message : "stream failed";
    res.write(translator.fail(`Stream interrupted: ${message}`).map(formatResponseEvent).join(""));
  }
  res.end();
}
