import express, { type Express } from "express";
import type { Logger } from "pino";
import type { Budget } from "./budget/budget";
import type { ResponseCache } from "./cache/response-cache";
import type { ConfigStore } from "./config/config-store";
import type { CostLedger } from "./ledger/ledger";
import { errorHandler, notFound } from "./middleware/error-handler";
import { requestId } from "./middleware/request-id";
import type { GatewayEvents } from "./observability/events";
import { healthRoutes } from "./routes/health";
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
  /** Response cache (Redis or in-process LRU); absent: no caching. */
  readonly cache?: ResponseCache;
  /** Cost ledger; absent: nothing recorded and no /v1/usage. */
  readonly ledger?: CostLedger;
  /** Daily budget; absent: no alerts or enforcement. */
  readonly budget?: Budget;
}

/** Builds the Express gateway: middleware in the order of DESIGN.md section 5, error handler last. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(requestId());
  app.use(healthRoutes());
  if (deps.ledger && deps.budget)
    app.use(usageRoutes({ ledger: deps.ledger, budget: deps.budget, clock: deps.clock }));

  app.use(notFound());
  app.use(errorHandler({ logger: deps.logger }));
  return app;
}
