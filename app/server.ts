import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Budget } from "./budget/budget";
import type { ResponseCache } from "./cache/response-cache";
import type { ConfigStore } from "./config/config-store";
import type { ChatGateway } from "./gateway/chat-gateway";
import type { CostLedger } from "./ledger/ledger";
import { errorHandler, notFound } from "./middleware/error-handler";
import { maintenanceMode } from "./middleware/maintenance";
import { requestId } from "./middleware/request-id";
import type { GatewayEvents } from "./observability/events";
import {
  mountClientGuards,
  mountJobRoutes,
  mountPromptChecks,
  type OpsDeps,
  resolveOps,
  securityHeaders,
} from "./ops";
import { chatRoutes } from "./routes/chat";
import { healthRoutes } from "./routes/health";
import { metricsAuth } from "./routes/metrics";
import { modelRoutes } from "./routes/models";
import { usageRoutes } from "./routes/usage";

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
  /** The chat service: routing, retry, breakers, failover (app/gateway). */
  readonly gateway: ChatGateway;
  /** Response cache (Redis or in-process LRU); absent: no caching. */
  readonly cache?: ResponseCache;
  /** Cost ledger; absent: nothing recorded and no /v1/usage. */
  readonly ledger?: CostLedger;
  /** Daily budget; absent: no alerts or enforcement. */
  readonly budget?: Budget;
  /** Health, metrics, client guards, jobs and batch (app/ops.ts). */
  readonly ops?: OpsDeps;
}

/** Default JSON body limit when `limits.maxBodyBytes` is not configured. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** Builds the Express gateway: middleware in the order of docs/design.md section 5, error handler last. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  const ops = resolveOps(deps);
  app.use(requestId());
  securityHeaders(app);
  app.use(healthRoutes({ ...ops.health, config: deps.config }));
  app.use("/metrics", metricsAuth({ config: deps.config }));
  // Client auth, rate limit and the JSON body limit (read per request, so a
  // reload applies) for every /v1 route; then prompt checks on chat.
  mountClientGuards(app, deps, ops);
  app.use(maintenanceMode({ config: deps.config, logger: deps.logger }));
  mountPromptChecks(app, deps, ops);
  app.use(modelRoutes({ gateway: deps.gateway, config: deps.config }));
  // With the other /v1 routes, so client auth in front of them covers usage too.
  if (deps.ledger && deps.budget)
    app.use(usageRoutes({ ledger: deps.ledger, budget: deps.budget, clock: deps.clock }));
  app.use(
    chatRoutes({
      gateway: deps.gateway,
      config: deps.config,
      clock: deps.clock ?? systemClock,
      events: deps.events,
      cache: deps.cache,
      budget: deps.budget,
    }),
  );
  mountJobRoutes(app, deps, ops);

  app.use(notFound());
  app.use(errorHandler({ logger: deps.logger }));
  return app;
}
