import { Router } from "express";
import type { Metrics } from "../observability/metrics";

/** `GET /metrics`: Prometheus text exposition, unauthenticated like the health routes. */
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
