import express, { type Express } from "express";
import type { Logger } from "pino";
import type { ConfigStore } from "./config/config-store";
import { errorHandler, notFound } from "./middleware/error-handler";
import { requestId } from "./middleware/request-id";
import type { GatewayEvents } from "./observability/events";
import { mountClientGuards, mountJobRoutes, type OpsDeps, resolveOps, securityHeaders } from "./ops";
import { healthRoutes } from "./routes/health";

/** A source of the current time, injected so tests control it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** The collaborators the app is built from; tests pass real or fake ones. */
export interface AppDeps {
  readonly config: ConfigStore;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly clock?: Clock;
  /** Health, metrics, client guards, jobs and batch (app/ops.ts). */
  readonly ops?: OpsDeps;
}

/** Builds the Express gateway: middleware in the order of DESIGN.md section 5, error handler last. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const ops = resolveOps(deps);
  app.use(requestId());
  securityHeaders(app);
  app.use(healthRoutes(ops.health));
  mountClientGuards(app, deps, ops);
  mountJobRoutes(app, deps, ops);

  app.use(notFound());
  app.use(errorHandler({ logger: deps.logger }));
  return app;
}
