import type { Logger } from "pino";
import type { Budget } from "./budget/budget";
import type { ResponseCache } from "./cache/response-cache";
import type { ConfigStore } from "./config/config-store";
import type { ChatGateway } from "./gateway/chat-gateway";
import type { CompleteFn, JobQueue } from "./jobs/types";
import type { CostLedger } from "./ledger/ledger";
import type { Lifecycle } from "./lifecycle";
import type { GatewayEvents } from "./observability/events";
import type { Metrics } from "./observability/metrics";
import type { Clock } from "./resilience/clock";
import type { HealthRouteOptions } from "./routes/health";
import type { ClientRateLimiter } from "./security/rate-limit";

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

/** The operations collaborators of `createApp` (issue 5); each optional, with in-process defaults. */
export interface OpsDeps {
  readonly metrics?: Metrics;
  readonly health?: HealthRouteOptions;
  readonly limiter?: ClientRateLimiter;
  readonly lifecycle?: Lifecycle;
  /** Async jobs. @default an in-process queue */
  readonly jobs?: JobQueue;
  /** Runs one chat completion for `/v1/batch` and the jobs. @default the gateway's `complete` */
  readonly complete?: CompleteFn;
}
