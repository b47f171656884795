import type { Express } from "express";
import helmet from "helmet";
import type { ResolvedOps } from "./compose";
import type { AppDeps } from "./deps";
import { batchRoute, jobRoutes } from "./routes/jobs";
import { metricsRoutes } from "./routes/metrics";
import { clientAuth } from "./security/auth";
import { rateLimit } from "./security/rate-limit";
import { jsonBody, promptChecks } from "./security/request-checks";

export { type ResolvedOps, resolveOps } from "./compose";
export type { OpsDeps } from "./deps";

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
