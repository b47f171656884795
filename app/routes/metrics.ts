import { type RequestHandler, Router } from "express";
import type { ConfigStore } from "../config/config-store";
import { HttpError } from "../errors";
import { bearerToken, secretEquals } from "../middleware/admin-access";
import type { Metrics } from "../observability/metrics";

/** `GET /metrics`: Prometheus text exposition, behind {@link metricsAuth} when `METRICS_TOKEN` is set. */
export function metricsRoutes(options: { metrics: Metrics }): Router {
  const router = Router();
  router.get("/metrics", async function exposeMetrics(_req, res) {
    const text = await options.metrics.render();
    res.setHeader("content-type", options.metrics.contentType);
    res.setHeader("cache-control", "no-store");
    res.send(text);
  });
  return router;
}

/**
 * With `METRICS_TOKEN` set (read per request, so a reload or secrets refresh
 * applies), `/metrics` needs `Authorization: Bearer <token>`, compared in
 * constant time; without it `/metrics` stays open for clusters whose network
 * policies already fence it (docs/design.md section 3).
 */
export function metricsAuth(options: { config: ConfigStore }): RequestHandler {
  return function authenticateScraper(req, _res, next) {
    const expected = options.config.get().metricsToken;
    if (expected === undefined) {
      next();
      return;
    }
    const presented = bearerToken(req.headers);
    if (presented === undefined || !secretEquals(presented, expected)) {
      throw new HttpError(401, {
        message: "/metrics needs Authorization: Bearer <METRICS_TOKEN>",
        type: "authentication_error",
        code: presented === undefined ? "missing_metrics_token" : "invalid_metrics_token",
        headers: { "www-authenticate": "Bearer" },
      });
    }
    next();
  };
}
