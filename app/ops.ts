import type { Express } from "express";
import helmet from "helmet";
import type { AppDeps } from "./deps";
import { gatewayComplete, gatewayProviderStates } from "./jobs/gateway-complete";
import { MemoryJobQueue } from "./jobs/memory-queue";
import type { CompleteFn, JobQueue } from "./jobs/types";
import { Lifecycle } from "./lifecycle";
import { ProviderProbe } from "./observability/health";
import { createMetrics, type Metrics } from "./observability/metrics";
import type { HealthRouteOptions } from "./routes/health";
import { routedProviders } from "./routes/health";
import { batchRoute, jobRoutes } from "./routes/jobs";
import { metricsRoutes } from "./routes/metrics";
import { clientAuth } from "./security/auth";
import { ClientRateLimiter, rateLimit } from "./security/rate-limit";
import { jsonBody, promptChecks } from "./security/request-checks";

export type { OpsDeps } from "./deps";

/** The operations parts resolved, defaults filled in. */
export interface ResolvedOps {
  readonly metrics: Metrics;
  /** The gateway's completion unless another was injected. */
  readonly complete: CompleteFn;
  /** The injected queue, or an in-process one. */
  readonly jobs: JobQueue;
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
  const clock = deps.clock ?? { now: () => Date.now() };
  const complete =
    ops.complete ??
    gatewayComplete(deps.gateway, deps.config, clock, deps.budget, {
      cache: deps.cache,
      events: deps.events,
      ledger: deps.ledger,
    });
  const jobs =
    ops.jobs ??
    new MemoryJobQueue({
      complete,
      logger: deps.logger,
      metrics,
      clock,
      callbackAllowHosts: deps.config.get().callbackAllowHosts,
    });
  // Injected health options are used as given; by default providers come from the gateway.
  const health: HealthRouteOptions = ops.health
    ? { clock, ...ops.health, lifecycle }
    : {
        clock,
        lifecycle,
        providers: {
          states: gatewayProviderStates(deps.gateway),
          probe: new ProviderProbe({
            clock,
            listModels: (provider, signal) => deps.gateway.listModels(provider, signal),
          }),
          routed: () => routedProviders(deps.config.get()),
        },
      };
  return { metrics, limiter, lifecycle, complete, jobs, health };
}

/** Security headers on every response. */
export function securityHeaders(app: Express): void {
  app.use(helmet());
}

/** `/metrics`, then client auth, rate limit and the JSON body limit for every `/v1` route (docs/design.md section 5). */
export function mountClientGuards(app: Express, deps: AppDeps, ops: ResolvedOps): void {
  app.use(metricsRoutes({ metrics: ops.metrics }));
  app.use(
    "/v1",
    clientAuth({ config: deps.config }),
    rateLimit({ limiter: ops.limiter }),
    jsonBody({ config: deps.config }),
  );
}

/** Size limit and injection heuristics on chat requests, after auth and rate limit (docs/design.md section 5). */
export function mountPromptChecks(app: Express, deps: AppDeps, ops: ResolvedOps): void {
  app.post(
    "/v1/chat/completions",
    promptChecks({ config: deps.config, logger: deps.logger, metrics: ops.metrics }),
  );
}

/** `/v1/jobs` and `/v1/batch`, through the completion function. */
export function mountJobRoutes(app: Express, deps: AppDeps, ops: ResolvedOps): void {
  const checks = { config: deps.config, logger: deps.logger, metrics: ops.metrics };
  app.use(jobRoutes({ ...checks, jobs: ops.jobs }));
  app.post("/v1/batch", batchRoute({ ...checks, complete: ops.complete, limiter: ops.limiter }));
}
