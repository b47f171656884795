import { Router } from "express";
import type { Logger } from "pino";
import type { ConfigStore } from "../config/config-store";
import type { GatewayConfig } from "../config/load-config";

/** Said to clients when the config file gives no message. */
export const DEFAULT_MAINTENANCE_MESSAGE =
  "The AI service is down for maintenance; retry after the time in Retry-After";
/** `Retry-After` when the config file gives none. */
export const DEFAULT_MAINTENANCE_RETRY_AFTER_SECONDS = 300;

/** The routes that start model work; everything else (health, metrics, usage, models, job polls) keeps working. */
const REFUSED_ROUTES = ["/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/jobs", "/v1/batch"];

/** Options of {@link maintenanceMode}. */
export interface MaintenanceOptions {
  readonly config: ConfigStore;
  readonly logger: Logger;
}

function describe(config: GatewayConfig) {
  const maintenance = config.file.maintenance;
  return {
    enabled: maintenance?.enabled === true,
    message: maintenance?.message ?? DEFAULT_MAINTENANCE_MESSAGE,
    retryAfterSeconds: maintenance?.retryAfterSeconds ?? DEFAULT_MAINTENANCE_RETRY_AFTER_SECONDS,
  };
}

/**
 * Maintenance mode (the guide's "AI service outage" steps), switched by
 * `maintenance` in `AI_CONFIG_FILE` and read per request, so a reload
 * (file change, SIGHUP) flips it at once: chat, job submissions and batch
 * answer 503 with the configured message and `Retry-After`. Logs each flip;
 * `ai_gateway_maintenance_mode` reports the state. Routed with Express's own
 * matching, so any spelling that reaches a refused route is refused too.
 */
export function maintenanceMode(options: MaintenanceOptions): Router {
  const { config, logger } = options;
  const initial = describe(config.get());
  if (initial.enabled) logger.warn(initial, "maintenance mode on: chat, jobs and batch answer 503");
  config.onChange((next, previous) => {
    const now = describe(next);
    if (now.enabled === describe(previous).enabled) return;
    if (now.enabled) logger.warn(now, "maintenance mode on: chat, jobs and batch answer 503");
    else logger.warn({ enabled: false }, "maintenance mode off: serving chat, jobs and batch");
  });

  const router = Router();
  router.post(REFUSED_ROUTES, function refuseDuringMaintenance(_req, res, next) {
    const state = describe(config.get());
    if (!state.enabled) {
      next();
      return;
    }
    res.setHeader("retry-after", String(state.retryAfterSeconds));
    res.setHeader("cache-control", "no-store");
    res.status(503).json({
      error: { message: state.message, type: "server_error", code: "maintenance" },
    });
  });
  return router;
}
