import express, { type Express } from "express";
import { resolveOps } from "./compose";
import type { AppDeps } from "./deps";
import { errorHandler, notFound } from "./middleware/error-handler";
import { jsonDepth } from "./middleware/json-depth";
import { maintenanceMode } from "./middleware/maintenance";
import { pathEncoding } from "./middleware/path-encoding";
import { requestId } from "./middleware/request-id";
import { mountClientGuards, mountJobRoutes, mountPromptChecks, securityHeaders } from "./ops";
import { chatRoutes } from "./routes/chat";
import { embeddingRoutes } from "./routes/embeddings";
import { healthRoutes } from "./routes/health";
import { metricsAuth } from "./routes/metrics";
import { modelRoutes } from "./routes/models";
import { responsesRoutes } from "./routes/responses";
import { usageRoutes } from "./routes/usage";

export type { AppDeps, OpsDeps } from "./deps";
export { type Clock, systemClock } from "./resilience/clock";

/** Default JSON body limit when `limits.maxBodyBytes` is not configured. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/**
 * Mounts the Express gateway: middleware in the order of docs/design.md
 * section 5, error handler last. Builds nothing itself: the parts come from
 * the composition root (app/compose.ts `resolveOps`, defaults for a partial `deps`).
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const ops = resolveOps(deps);
  app.use(requestId(), pathEncoding());
  securityHeaders(app);
  app.use(healthRoutes({ ...ops.health, config: deps.config }));
  app.use("/metrics", metricsAuth({ config: deps.config }));
  // Client auth, rate limit and the JSON body limit (read per request, so a
  // reload applies) for every /v1 route; then prompt checks on chat.
  mountClientGuards(app, deps, ops);
  app.use(maintenanceMode({ config: deps.config, logger: deps.logger }));
  app.use("/v1", jsonDepth());
  mountPromptChecks(app, deps, ops);
  app.use(modelRoutes({ gateway: deps.gateway, config: deps.config }));
  // With the other /v1 routes, so client auth in front of them covers usage too.
  if (deps.ledger && deps.budget)
    app.use(usageRoutes({ ledger: deps.ledger, budget: deps.budget, clock: deps.clock }));
  app.use(chatRoutes(ops.pipeline));
  app.use(responsesRoutes(ops.pipeline));
  app.use(embeddingRoutes(ops.pipeline));
  mountJobRoutes(app, deps, ops);

  app.use(notFound());
  app.use(errorHandler({ logger: deps.logger }));
  return app;
}
