import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import pg from "pg";
import type { Logger } from "pino";
import { version } from "../package.json";
import type { ConfigStore } from "./config/config-store";
import { ConfigReloader } from "./config/reload";
import { SecretsError, SecretsRefresher, secretsProblems } from "./config/secrets";
import { createRedis } from "./data/redis";
import { BullJobQueue } from "./jobs/bullmq-queue";
import { MemoryJobQueue } from "./jobs/memory-queue";
import type { CompleteFn, JobQueue } from "./jobs/types";
import { Lifecycle, type ShutdownHook } from "./lifecycle";
import { type AlertSink, createAlertSink } from "./observability/alerts";
import type { GatewayEvents } from "./observability/events";
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
import type { OpsDeps } from "./ops";
import type { Clock } from "./resilience/clock";
import { routedProviders } from "./routes/health";
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
