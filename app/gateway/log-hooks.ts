import type { Logger } from "pino";
import type { GatewayEvents } from "../observability/events";

/**
 * Subscribes structured logs to the gateway hooks: one JSON line per event with
 * request id, provider, model, attempt, duration and tokens. Keys never appear:
 * events carry none, and the logger redacts REDACT_PATHS anyway. Returns the
 * function that unsubscribes.
 */
export function logGatewayEvents(events: GatewayEvents, logger: Logger): () => void {
  const offs = [
    events.on("onRequest", (e) =>
      logger.debug(
        { event: "request", requestId: e.requestId, tenant: e.tenant, model: e.model, stream: e.stream },
        "chat request",
      ),
    ),
    events.on("onResponse", (e) =>
      logger.info(
        {
          event: "response",
          requestId: e.requestId,
          tenant: e.tenant,
          provider: e.provider,
          model: e.model,
          attempts: e.attempts,
          durationMs: e.durationMs,
          upstreamMs: e.upstreamMs,
          inputTokens: e.inputTokens,
          outputTokens: e.outputTokens,
          fallbackUsed: e.fallbackUsed,
          cacheHit: e.cacheHit,
          stream: e.stream,
          status: e.status,
        },
        "chat response",
      ),
    ),
    events.on("onError", (e) =>
      (e.status >= 500 ? logger.error.bind(logger) : logger.info.bind(logger))(
        {
          event: "error",
          requestId: e.requestId,
          tenant: e.tenant,
          provider: e.provider,
          model: e.model,
          status: e.status,
          type: e.type,
          attempts: e.attempts,
          durationMs: e.durationMs,
        },
        e.message,
      ),
    ),
    events.on("onRetry", (e) =>
      logger.warn(
        {
          event: "retry",
          requestId: e.requestId,
          provider: e.provider,
          model: e.model,
          attempt: e.attempt,
          reason: e.reason,
          delayMs: e.delayMs,
        },
        "upstream attempt failed; retrying",
      ),
    ),
    events.on("onFallback", (e) =>
      logger.warn(
        { event: "fallback", requestId: e.requestId, from: e.from, to: e.to, reason: e.reason },
        "failing over",
      ),
    ),
    events.on("onCircuitChange", (e) =>
      (e.state === "open" ? logger.error.bind(logger) : logger.warn.bind(logger))(
        { event: "circuit", provider: e.provider, state: e.state },
        `circuit ${e.state}`,
      ),
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}
