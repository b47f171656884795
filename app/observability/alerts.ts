import type { Logger } from "pino";
import type { Metrics } from "./metrics";

/** An operational alert (budget, breaker, failover, secrets, …). */
export interface Alert {
  /** Bounded: `budget`, `breaker`, `failover`, `secrets`, `config`, … */
  readonly source: string;
  readonly severity: "warning" | "critical";
  /** What happened and what to do; never a secret. */
  readonly message: string;
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Raises an alert: logs it, counts it, and POSTs it to the webhook when one is
 * configured. The one alert channel: the gateway's breaker and key alerts, the
 * ledger's dead letters, secrets refresh and budget all send through it.
 */
export type AlertSink = (alert: Alert) => void;

/** Options of {@link createAlertSink}. */
export interface AlertSinkOptions {
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /**
   * `ALERT_WEBHOOK_URL`, or a function read at every send (so a config reload
   * that sets, changes or clears it applies to the next alert).
   */
  readonly webhookUrl?: string | (() => string | undefined);
  readonly fetch?: typeof fetch;
}

/** The alert sink: log line, `ai_gateway_alerts_total{source}`, webhook POST (best effort, off the request path). */
export function createAlertSink(options: AlertSinkOptions): AlertSink {
  const fetchImpl = options.fetch ?? fetch;
  return function raiseAlert(alert) {
    options.metrics?.alert(alert.source);
    const log = alert.severity === "critical" ? options.logger.error : options.logger.warn;
    log.call(options.logger, { alert }, `alert: ${alert.message}`);
    const url = typeof options.webhookUrl === "function" ? options.webhookUrl() : options.webhookUrl;
    if (!url) return;
    fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...alert, timestamp: new Date().toISOString(), service: "ai-gateway" }),
      signal: AbortSignal.timeout(10_000),
    })
      .then((response) => response.body?.cancel())
      .catch((error: unknown) =>
        options.logger.warn({ err: { message: (error as Error).message } }, "alert webhook failed"),
      );
  };
}
