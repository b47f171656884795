/**
 * The composition root (docs/design.md section 5): everything the gateway is
 * built from is assembled here, once. `buildDeps` builds the process's parts
 * from the configuration (app/main.ts starts them); `resolveOps` fills the
 * defaults of a partial `AppDeps` (tests) and builds the one chat pipeline
 * every route shares; app/server.ts `createApp` only mounts what it is given.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import pg from "pg";
import type { Logger } from "pino";
import { version } from "../package.json";
import { createBudget } from "./budget";
import { createResponseCache } from "./cache";
import type { ChatPipelineDeps } from "./chat/pipeline";
import { ConfigStore } from "./config/config-store";
import type { GatewayConfig } from "./config/load-config";
import { ConfigReloader } from "./config/reload";
import { SecretsError, SecretsRefresher, secretsProblems } from "./config/secrets";
import { createRedis } from "./data/redis";
import type { AppDeps, OpsDeps } from "./deps";
import { ChatGateway } from "./gateway/chat-gateway";
import { BullJobQueue } from "./jobs/bullmq-queue";
import { gatewayComplete, gatewayOps, gatewayProviderStates } from "./jobs/gateway-complete";
import { MemoryJobQueue } from "./jobs/memory-queue";
import type { CompleteFn, JobQueue } from "./jobs/types";
import { openCostLedger } from "./ledger/ledger";
import { LedgerMaintenance } from "./ledger/maintenance";
import { Lifecycle, type ShutdownHook } from "./lifecycle";
import { type AlertSink, createAlertSink } from "./observability/alerts";
import { GatewayEvents } from "./observability/events";
import {
  chromaCheck,
  type HealthCheck,
  type ListModels,
  ProviderProbe,
  type ProviderStatesSource,
  postgresCheck,
  redisCheck,
  runChecks,
  writableDirCheck,
} from "./observability/health";
import { createMetrics, type Metrics } from "./observability/metrics";
import { type Clock, systemClock } from "./resilience/clock";
import { type HealthRouteOptions, routedProviders } from "./routes/health";
import { ClientRateLimiter } from "./security/rate-limit";
import { LEDGER_FLUSH_SECONDS } from "./shutdown-budget";

/** What {@link buildOps} needs from the rest of the gateway; later subsystems pass their parts. */
export interface BuildOpsOptions {
  readonly store: ConfigStore;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  readonly clock: Clock;
  /** The gateway's completion function; jobs and batch are served when present. */
  readonly complete?: CompleteFn;
  /** The router's breaker states and the adapters' models-list probe, for `/health`. */
  readonly providerStates?: ProviderStatesSource;
  readonly listModels?: ListModels;
  /** The registry, when the caller built it first (so the ledger, budget and cache record into it). */
  readonly metrics?: Metrics;
  /** Extra readiness checks (the ledger store or its spool). */
  readonly ready?: Readonly<Record<string, HealthCheck>>;
  /** Extra `/health` checks (the ledger's state). */
  readonly details?: Readonly<Record<string, HealthCheck>>;
  /** The alert sink, when the caller built it first (so the ledger raises alerts from its start). */
  readonly alert?: AlertSink;
}

/** The built operations parts and what must run at shutdown, in registration order. */
export interface BuiltOps {
  readonly ops: OpsDeps;
  /** Raises operational alerts (log, metric, webhook); the gateway's breaker and key alerts go here. */
  readonly alert: AlertSink;
  readonly reloader: ConfigReloader;
  readonly hooks: ShutdownHook[];
}

/**
 * Builds metrics, alerts, health checks, the rate limiter, the job queue,
 * config reload and the secrets refresh from the configuration. Throws when
 * `AI_SECRETS_ID` is set and the secret cannot be read, so start-up fails fast.
 */
export async function buildOps(options: BuildOpsOptions): Promise<BuiltOps> {
  const { store, logger, events, clock } = options;
  const config = store.get();
  const hooks: ShutdownHook[] = [];
  const lifecycle = new Lifecycle();
  const metrics = options.metrics ?? createMetrics({ events, config: store });
  hooks.push(() => metrics.close());
  const alert =
    options.alert ?? createAlertSink({ logger, metrics, webhookUrl: () => store.get().alertWebhookUrl });

  const reloader = new ConfigReloader({ store, env: options.env, logger, validate: secretsProblems });
  if (config.secretsId) {
    const client = new SecretsManagerClient({});
    const refresher = new SecretsRefresher({
      client,
      secretId: config.secretsId,
      logger,
      alert,
      apply: (variables) => {
        if (reloader.setOverlay(variables) === "invalid") {
          alert({
            source: "secrets",
            severity: "critical",
            message: "Keys from Secrets Manager make the configuration invalid; kept the last good keys",
          });
        }
      },
    });
    await refresher.start();
    const problems = secretsProblems(store.get());
    if (problems.length > 0) {
      refresher.close();
      throw new SecretsError(
        `the configuration is incomplete after reading the secret:\n  - ${problems.join("\n  - ")}`,
        "Incomplete",
      );
    }
    hooks.push(() => {
      refresher.close();
      client.destroy();
    });
  }
  reloader.start();
  hooks.push(() => reloader.close());

  // Readiness means "send me traffic": only what the request path cannot serve without (the
  // local spool directory). Redis, Postgres and Chroma are optional at request time (uncached,
  // local limits and budget, ledger rows spooled), so they show in /health and the
  // ai_gateway_dependency_up gauge: a Redis restart must not take every pod of both slots out.
  const ready: Record<string, HealthCheck> = { spool: writableDirCheck(config.dataDir), ...options.ready };
  const details: Record<string, HealthCheck> = { ...options.details };
  let limiter: ClientRateLimiter;
  if (config.redisUrl) {
    const redis = createRedis({ url: config.redisUrl, logger, name: "ops" });
    hooks.push(() =>
      redis.quit().then(
        () => undefined,
        () => redis.disconnect(),
      ),
    );
    details["redis"] = redisCheck(redis);
    limiter = new ClientRateLimiter({ config: store, redis, logger, metrics });
  } else {
    limiter = new ClientRateLimiter({ config: store, logger, metrics });
  }
  hooks.push(limiter.subscribe(events));
  if (config.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 1,
      connectionTimeoutMillis: 2_000,
    });
    pool.on("error", (error) =>
      logger.warn({ err: { message: error.message } }, "health postgres pool error"),
    );
    hooks.push(() => pool.end());
    details["postgres"] = postgresCheck(pool);
  }
  if (config.chromaUrl) details["chroma"] = chromaCheck(config.chromaUrl);
  metrics.dependenciesFrom(async () => {
    const results = await runChecks(details, 2_000, clock);
    return Object.fromEntries(
      Object.entries(results).map(([name, result]) => [name, result.status === "up"]),
    );
  });

  let jobs: JobQueue | undefined;
  if (options.complete) {
    const runner = {
      complete: options.complete,
      logger,
      metrics,
      clock,
      callbackAllowHosts: config.callbackAllowHosts,
    };
    jobs = config.redisUrl
      ? new BullJobQueue({
          ...runner,
          redisUrl: config.redisUrl,
          queueName: config.jobsQueue,
          pollQueueNames: config.jobsPollQueues,
        })
      : new MemoryJobQueue(runner);
    metrics.jobsQueuedFrom(() => jobs!.depth());
    const queue = jobs;
    // The worker stops taking jobs the moment shutdown begins (running ones finish alongside the
    // HTTP drain); the close after the drain gets what is left of the one deadline, less the
    // ledger flush's share, never a fresh one.
    lifecycle.onShutdown(() => queue.stopTaking?.());
    hooks.push(() => {
      const remaining = lifecycle.remainingMs(clock.now(), LEDGER_FLUSH_SECONDS * 1000);
      return queue.close(Number.isFinite(remaining) ? remaining : config.shutdownTimeoutSeconds * 1000);
    });
  }

  const providers = options.providerStates
    ? {
        states: options.providerStates,
        routed: () => routedProviders(store.get()),
        ...(options.listModels
          ? { probe: new ProviderProbe({ listModels: options.listModels, clock }) }
          : {}),
      }
    : undefined;

  const ops: OpsDeps = {
    metrics,
    limiter,
    lifecycle,
    health: { version, clock, ready, details, ...(providers ? { providers } : {}) },
    ...(jobs ? { jobs } : {}),
    ...(options.complete ? { complete: options.complete } : {}),
  };
  return { ops, alert, reloader, hooks };
}

/** Builds the dependencies from the configuration. Later subsystems register their own shutdown hooks. */
export async function buildDeps(
  config: GatewayConfig,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ deps: AppDeps; hooks: ShutdownHook[]; reloader: ConfigReloader }> {
  const hooks: ShutdownHook[] = [];
  const events = new GatewayEvents((error, hook) =>
    logger.error({ err: error, hook }, "event listener failed"),
  );
  const store = new ConfigStore(config);
  // One registry for every subsystem: the ledger, budget and cache record into it by METRIC name.
  const metrics = createMetrics({ events, config: store });
  // Built before the ledger, whose start-up replay may already dead-letter a row.
  const alert = createAlertSink({ logger, metrics, webhookUrl: () => store.get().alertWebhookUrl });

  // Cost ledger, budget and response cache (issue 4). Hooks run in reverse on
  // shutdown: the cache disconnects, the budget settles, then the ledger drains
  // every buffered row to the database (or the spool) before the process exits.
  const ledger = await openCostLedger({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
    prices: () => store.get().file.prices,
    clock: systemClock,
    metrics,
    alert,
    rollupRetentionDays: config.ledgerRollupRetentionDays,
  });
  // Billed by the chat pipeline's bill step (app/chat/pipeline.ts), not through the hooks.
  hooks.push(() => ledger.close());
  // Partitions ahead of midnight and retention export-then-drop (issue 18); stops before the ledger closes.
  const maintenance = new LedgerMaintenance({
    db: ledger.db,
    logger,
    retentionDays: config.ledgerRetentionDays,
    rollupRetentionDays: config.ledgerRollupRetentionDays,
    archiveDir: config.ledgerArchiveDir,
  });
  maintenance.start();
  hooks.push(() => maintenance.stop());
  const budget = await createBudget({
    config: store,
    logger,
    clock: systemClock,
    ledgerSpent: (day) => ledger.spentPico(day),
    price: (provider, model, input, output) => ledger.price(provider, model, input, output),
    metrics,
  });
  budget.budget.attach(events);
  hooks.push(budget.close);
  const cache = await createResponseCache({
    redisUrl: config.cacheRedisUrl ?? config.redisUrl,
    logger,
    metrics,
  });
  hooks.push(cache.close);

  const gateway = new ChatGateway({ config: store, logger, events, alert });
  hooks.push(() => gateway.close());
  // Operations: metrics, health, client guards, jobs, secrets refresh and config reload.
  // Registered after the gateway, so at shutdown jobs drain before it closes.
  const ops = await buildOps({
    store,
    env,
    logger,
    events,
    clock: systemClock,
    metrics,
    details: { ledger: () => ledger.health() },
    alert,
    ...gatewayOps(gateway, store, systemClock, budget.budget, { cache: cache.cache, events, ledger }),
  });
  hooks.push(...ops.hooks);
  const deps: AppDeps = {
    config: store,
    logger,
    events,
    clock: systemClock,
    gateway,
    cache: cache.cache,
    ledger,
    budget: budget.budget,
    ops: ops.ops,
  };
  return { deps, hooks, reloader: ops.reloader };
}

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
  /** The one chat pipeline (app/chat/pipeline.ts) HTTP chat and the default jobs/batch completion share. */
  readonly pipeline: ChatPipelineDeps;
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
  const clock = deps.clock ?? systemClock;
  const pipeline: ChatPipelineDeps = {
    gateway: deps.gateway,
    config: deps.config,
    clock,
    events: deps.events,
    cache: deps.cache,
    budget: deps.budget,
    ledger: deps.ledger,
  };
  const complete =
    ops.complete ??
    gatewayComplete(pipeline.gateway, pipeline.config, clock, pipeline.budget, {
      cache: pipeline.cache,
      events: pipeline.events,
      ledger: pipeline.ledger,
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
  return { metrics, limiter, lifecycle, complete, jobs, health, pipeline };
}
