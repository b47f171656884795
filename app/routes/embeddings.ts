import { Router } from "express";
import type { Budget } from "../budget/budget";
import type { Biller } from "../chat/pipeline";
import type { ChatRequest } from "../chat/schema";
import type { ConfigStore } from "../config/config-store";
import { embeddingInputs, parseEmbeddingsRequest } from "../embeddings/schema";
import type { ChatGateway } from "../gateway/chat-gateway";
import { EmbedGateway } from "../gateway/embed-gateway";
import { GatewayEvents, type ResponseEvent } from "../observability/events";
import type { Clock } from "../resilience/clock";
import { chatContext, sendJson } from "./chat";

/** Options of {@link embeddingRoutes}. */
export interface EmbeddingRoutesOptions {
  readonly gateway: ChatGateway;
  readonly config: ConfigStore;
  readonly clock: Clock;
  readonly events?: GatewayEvents;
  /** The bill step's ledger (as for chat, app/chat/pipeline.ts); absent: nothing is recorded. */
  readonly ledger?: Biller;
  /** Daily budget: an embeddings call reserves its worst case like a chat call. */
  readonly budget?: Budget;
}

/**
 * `POST /v1/embeddings` in OpenAI's shape (docs/design.md section 3): validate,
 * reserve the budget, embed through the gateway's targets with failover
 * (app/gateway/embed-gateway.ts), answer. Client auth, rate limits and the
 * body limit are the `/v1` guards of app/ops.ts, as for chat.
 */
export function embeddingRoutes(options: EmbeddingRoutesOptions): Router {
  const router = Router();
  const embedder = new EmbedGateway({
    gateway: options.gateway,
    events: options.events ?? new GatewayEvents(),
    clock: options.clock,
  });

  router.post("/v1/embeddings", async function embeddings(req, res) {
    const startedAt = options.clock.now();
    const request = parseEmbeddingsRequest(req.body);
    const ctx = {
      ...chatContext(req, res, startedAt),
      bill: (event: ResponseEvent) => options.ledger?.record(event, options.events),
    };
    const config = options.config.get();
    const reservation = await options.budget?.reserve(budgetView(request.model, request), config);
    try {
      const result = await embedder.embed(request, ctx, config);
      res.setHeader("x-ai-provider", result.provider);
      res.setHeader("x-ai-cache", "miss");
      res.setHeader("x-ai-attempts", String(result.attempts));
      sendJson(res, result.response);
    } finally {
      await reservation?.release();
    }
  });

  return router;
}

/**
 * The request as the budget prices it: its inputs as one prompt and one
 * output token (embeddings produce none; the budget needs a cap to price).
 */
function budgetView(model: string, request: Parameters<typeof embeddingInputs>[0]): ChatRequest {
  const content = embeddingInputs(request)
    .map((input) => (typeof input === "string" ? input : " x".repeat(input.length)))
    .join("\n");
  return { model, messages: [{ role: "user", content }], max_tokens: 1 };
}
