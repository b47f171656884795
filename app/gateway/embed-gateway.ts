import type { Logger } from "pino";
import { ENVIRONMENT_DEFAULTS, PROVIDER_NAMES, type ProviderName, type TargetSpec } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { EmbeddingsRequest } from "../embeddings/schema";
import { HttpError } from "../errors";
import { toHttpError } from "../middleware/error-handler";
import type { GatewayEvents, ResponseEvent } from "../observability/events";
import { EMBEDDING_PROVIDERS, embeddingAdapter } from "../providers/embeddings";
import type { EmbeddingsResponse, ProviderEmbeddings } from "../providers/types";
import type { Clock } from "../resilience/clock";
import type { ChatGateway } from "./chat-gateway";
import { AllTargetsFailed } from "./degraded";
import type { ChatContext, ChatOutcome } from "./types";

/** Options of {@link EmbedGateway}. */
export interface EmbedGatewayOptions {
  /** Whose breakers, retry, key pools and adapters the embeddings share. */
  readonly gateway: ChatGateway;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  readonly logger?: Logger;
}

/** An answered embeddings request and who answered it. */
export interface EmbedResult extends Omit<ChatOutcome, "degraded" | "failures"> {
  readonly response: EmbeddingsResponse;
  /** True when the vendor reported no token count and the input tokens are the gateway's estimate. */
  readonly estimated: boolean;
}

/** The provider a bare embedding model name goes to (`AI_EMBEDDING_PROVIDER`). */
export function embeddingProvider(config: GatewayConfig): ProviderName {
  return config.embeddingProvider ?? ENVIRONMENT_DEFAULTS[config.environment].embeddingProvider;
}

/** The gateway's own embedding model (`AI_EMBEDDING_MODEL`), on {@link embeddingProvider}. */
export function embeddingModel(config: GatewayConfig): string {
  return config.embeddingModel ?? ENVIRONMENT_DEFAULTS[config.environment].embeddingModel;
}

function isProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

/**
 * The targets of an embeddings request (docs/design.md section 3): a route
 * alias of AI_CONFIG_FILE gives its targets in order (its failover list: the
 * models must give vectors of the same space); `<provider>/<model>` gives that
 * one target; any other name goes to AI_EMBEDDING_PROVIDER. The chat
 * fallbacks are chat models, so they are never appended.
 */
export function embeddingTargets(model: string, config: GatewayConfig): TargetSpec[] {
  const route = config.file.routes[model];
  if (route) return route.targets.map(({ provider, model: name }) => ({ provider, model: name }));
  const slash = model.indexOf("/");
  if (slash > 0) {
    const provider = model.slice(0, slash);
    const rest = model.slice(slash + 1);
    if (isProvider(provider) && rest !== "") return [{ provider, model: rest }];
    if (isProvider(provider)) {
      throw new HttpError(404, {
        message: `Unknown model "${model}": no model after "${provider}/"`,
        type: "not_found_error",
        code: "model_not_found",
      });
    }
  }
  return [{ provider: embeddingProvider(config), model }];
}

/**
 * `POST /v1/embeddings` upstream: resolves the targets, refuses those whose
 * vendor has no embeddings (Groq) or cannot take the input, and runs the rest
 * through the chat gateway's breakers, retry, key pools and failover
 * ({@link ChatGateway.runTargets}). Reports `onRequest`, then `onResponse`
 * with `kind: "embedding"` (the ledger prices input tokens; rate limits and
 * metrics count it) or `onError`.
 */
export class EmbedGateway {
  constructor(private readonly options: EmbedGatewayOptions) {}

  /** Embeds `request`; throws an {@link HttpError} the error handler sends. */
  async embed(request: EmbeddingsRequest, ctx: ChatContext, config: GatewayConfig): Promise<EmbedResult> {
    const { events, gateway } = this.options;
    events.emit("onRequest", {
      requestId: ctx.requestId,
      tenant: ctx.tenant,
      model: request.model,
      stream: false,
      startedAt: ctx.startedAt,
    });
    let attempts = 0;
    let provider: ProviderName | undefined;
    try {
      const targets = this.ableTargets(request, embeddingTargets(request.model, config));
      const served = await gateway.runTargets<ProviderEmbeddings>(
        targets,
        ctx,
        (_adapter, target, signal, apiKey) =>
          // ableTargets kept only providers that embed.
          embeddingAdapter(gateway.adapters, target.provider)!.embed(request, {
            model: target.model,
            apiKey,
            signal,
            requestId: ctx.requestId,
          }),
      );
      const result: EmbedResult = {
        response: served.value.response,
        estimated: served.value.estimatedUsage,
        provider: served.target.provider,
        model: served.target.model,
        attempts: served.attempts,
        fallbackUsed: served.fallbackUsed,
        upstreamMs: Math.round(served.upstreamMs * 1000) / 1000,
      };
      const event: ResponseEvent = {
        requestId: ctx.requestId,
        tenant: ctx.tenant,
        provider: result.provider,
        model: result.model,
        inputTokens: served.value.usage.inputTokens,
        outputTokens: 0,
        durationMs: this.options.clock.now() - ctx.startedAt,
        upstreamMs: result.upstreamMs,
        attempts: result.attempts,
        fallbackUsed: result.fallbackUsed,
        cacheHit: false,
        stream: false,
        status: 200,
        kind: "embedding",
        ...(result.estimated ? { estimated: true } : {}),
      };
      // The bill step (the ledger prices input tokens), then the event metrics and rate limits count.
      ctx.bill?.(event);
      events.emit("onResponse", event);
      return result;
    } catch (error) {
      // Domain errors are mapped to HTTP only by the error handler; the event carries the status it will send.
      if (error instanceof AllTargetsFailed) {
        attempts = error.attempts;
        provider = error.failures.at(-1)?.provider;
      }
      const httpError = toHttpError(error);
      if (httpError.status >= 500 && httpError.cause === error) {
        this.options.logger?.error({ err: error, requestId: ctx.requestId }, "embeddings request failed");
      }
      events.emit("onError", {
        requestId: ctx.requestId,
        tenant: ctx.tenant,
        ...(provider ? { provider } : {}),
        model: request.model,
        status: httpError.status,
        type: httpError.type,
        message: httpError.message,
        attempts,
        durationMs: this.options.clock.now() - ctx.startedAt,
      });
      throw error;
    }
  }

  // Targets whose vendor embeds and takes this input; none: a 400 naming why.
  private ableTargets(request: EmbeddingsRequest, targets: readonly TargetSpec[]): TargetSpec[] {
    const reasons: string[] = [];
    const able = targets.filter((target) => {
      const adapter = embeddingAdapter(this.options.gateway.adapters, target.provider);
      if (!adapter) {
        reasons.push(
          `${target.provider} has no embeddings API (use one of ${EMBEDDING_PROVIDERS.join(", ")})`,
        );
        return false;
      }
      const reason = adapter.unsupportedEmbeddingInput(request);
      if (reason !== undefined) reasons.push(reason);
      return reason === undefined;
    });
    if (able.length === 0) {
      throw new HttpError(400, {
        message: `Cannot embed with "${request.model}": ${reasons.join("; ")}`,
        type: "invalid_request_error",
        code: "unsupported_model",
      });
    }
    return able;
  }
}
