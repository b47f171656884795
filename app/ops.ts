import type { Express } from "express";
import helmet from "helmet";
import type { CompleteFn, JobQueue } from "./jobs/types";
import { Lifecycle } from "./lifecycle";
import { createMetrics, type Metrics } from "./observability/metrics";
import type { HealthRouteOptions } from "./routes/health";
import { batchRoute, jobRoutes } from "./routes/jobs";
import { metricsRoutes } from "./routes/metrics";
import { clientAuth } from "./security/auth";
import { ClientRateLimiter, rateLimit } from "./security/rate-limit";
import { jsonBody } from "./security/request-checks";
import type { AppDeps } from "./server";

/** The operations collaborators of `createApp` (issue 5); each optional, with in-process defaults. */
export interface OpsDeps {
  readonly metrics?: Metrics;
  readonly health?: HealthRouteOptions;
  readonly limiter?: ClientRateLimiter;
  readonly lifecycle?: Lifecycle;
  /** Async jobs; `/v1/jobs` is served when both this and `complete` are present. */
  readonly jobs?: JobQueue;
  /** Runs one chat completion (the gateway's `complete`); serves `/v1/batch` and the jobs. */
  readonly complete?: CompleteFn;
}

/** The operations parts resolved, defaults filled in. */
export interface ResolvedOps {
  readonly metrics: Metrics;
  readonly limiter: ClientRateLimiter;
  readonly lifecycle: Lifecycle;
  readonly health: HealthRouteOptions;
}

/** Fills the defaults: metrics on the app's events, an in-process rate limiter, a fresh lifecycle. */
export function resolveOps(deps: AppDeps): ResolvedOps {
  const ops = deps.ops ?? {};
  const metrics = ops.metrics ?? createMetrics({ events: deps.events, config: deps.config });
  let limiter = ops.limiter;
  if (!limiter) {
    limiter = new ClientRateLimiter({ config: deps.config, logger: deps.logger, metrics });
    limiter.subscribe(deps.events);
  }
  const lifecycle = ops.lifecycle ?? new Lifecycle();
  return { metrics, limiter, lifecycle, health: { clock: deps.clock, ...ops.health, lifecycle } };
}

/** Security headers on every response. */
export function securityHeaders(app: Express): void {
  app.use(helmet());
}

/** `/metrics`, then client auth, rate limit and the JSON body limit for every `/v1` route (DESIGN.md section 5). */
export function mountClientGuards(app: Express, deps: AppDeps, ops: ResolvedOps): void {
  app.use(metricsRoutes({ metrics: ops.metrics }));
  app.use(
    "/v1",
    clientAuth({ config: deps.config }),
    rateLimit({ limiter: ops.limiter }),
    jsonBody({ config: deps.config }),
  );
}

/** `/v1/jobs` and `/v1/batch`, when a completion function is wired. */
export function mountJobRoutes(app: Express, deps: AppDeps, ops: ResolvedOps): void {
  const complete = deps.ops?.complete;
  if (!complete) return;
  const checks = { config: deps.config, logger: deps.logger, metrics: ops.metrics };
  if (deps.ops?.jobs) app.use(jobRoutes({ ...checks, jobs: deps.ops.jobs }));
  app.post("/v1/batch", batchRoute({ ...checks, complete, limiter: ops.limiter }));
}
