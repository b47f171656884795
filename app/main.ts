import type { Server } from "node:http";
import type { Logger } from "pino";
import { createBudget } from "./budget";
import { createResponseCache } from "./cache";
import { ConfigStore } from "./config/config-store";
import { ConfigError, type GatewayConfig, loadConfig } from "./config/load-config";
import type { ConfigReloader } from "./config/reload";
import type { AppDeps } from "./deps";
import { ChatGateway } from "./gateway/chat-gateway";
import { createHttpServer } from "./http-server";
import { gatewayOps } from "./jobs/gateway-complete";
import { openCostLedger } from "./ledger/ledger";
import { LedgerMaintenance } from "./ledger/maintenance";
import type { ShutdownHook } from "./lifecycle";
import { createAlertSink } from "./observability/alerts";
import { GatewayEvents } from "./observability/events";
import { createLogger } from "./observability/logger";
import { METRIC } from "./observability/metric-names";
import { createMetrics } from "./observability/metrics";
import { buildOps } from "./ops-build";
import { systemClock } from "./resilience/clock";
import { createApp } from "./server";
import { drainDeadlineMs } from "./shutdown-budget";

/** A running gateway. */
export interface RunningGateway {
  readonly server: Server;
  readonly port: number;
  readonly deps: AppDeps;
  /** Stops accepting, waits for in-flight requests up to the deadline, runs the shutdown hooks. */
  close(): Promise<void>;
  /** Reloads `AI_CONFIG_FILE` (SIGHUP). */
  reloadConfig(reason: string): void;
}

export type { ShutdownHook } from "./lifecycle";

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

/** Starts the gateway on the configured address. */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger = createLogger({ level: config.logLevel }),
): Promise<RunningGateway> {
  const { deps, hooks, reloader } = await buildDeps(config, logger);
  const app = createApp(deps);
  // Socket-level limits and the keep-alive-safe drain live in app/http-server.ts (issue 14, findings 5 and 6).
  const http = createHttpServer(app, {
    maxConnections: config.maxConnections,
    headersTimeoutMs: config.headersTimeoutSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    onRefused: () => deps.ops?.metrics?.inc(METRIC.connectionsRefused),
  });
  const { server } = http;
  const port = await http.listen(config.port, config.host);
  logger.info({ port, host: config.host, environment: config.environment }, "gateway listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // One deadline for every step (HTTP drain, job queue, ledger flush): the pod's grace period
      // is derived from the same settings (app/shutdown-budget.ts). Readiness answers 503 from
      // here on, so balancers stop sending new work, and the job worker stops taking jobs.
      const started = Date.now();
      const budgetMs = config.shutdownTimeoutSeconds * 1000;
      deps.ops?.lifecycle?.beginShutdown(started + budgetMs);
      const deadline = drainDeadlineMs(budgetMs);
      await http.drain(deadline, () =>
        logger.warn({ deadlineMs: deadline }, "shutdown deadline reached; closing remaining connections"),
      );
      for (const hook of hooks.reverse()) {
        try {
          await hook();
        } catch (error) {
          logger.error({ err: error }, "shutdown hook failed");
        }
      }
      logger.info({ elapsedMs: Date.now() - started, deadlineMs: budgetMs }, "shutdown steps done");
    })();
    return closing;
  };
  return { server, port, deps, close, reloadConfig: (reason) => reloader.reload(reason) };
}

/** Process entry: load config (fail fast), start, drain on SIGTERM/SIGINT. */
export async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  // Installed before listening: SIGHUP's default action would kill the process.
  let reload: ((reason: string) => void) | undefined;
  process.on("SIGHUP", () => reload?.("SIGHUP"));
  const gateway = await startGateway(config, logger);
  reload = gateway.reloadConfig;
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down");
    gateway.close().then(
      () => {
        logger.info("shutdown complete");
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
