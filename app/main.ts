import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createBudget } from "./budget";
import { createResponseCache } from "./cache";
import { ConfigStore } from "./config/config-store";
import { ConfigError, type GatewayConfig, loadConfig } from "./config/load-config";
import { ChatGateway } from "./gateway/chat-gateway";
import { openCostLedger } from "./ledger/ledger";
import { GatewayEvents } from "./observability/events";
import { createLogger } from "./observability/logger";
import { type AppDeps, createApp, systemClock } from "./server";

/** A running gateway. */
export interface RunningGateway {
  readonly server: Server;
  readonly port: number;
  readonly deps: AppDeps;
  /** Stops accepting, waits for in-flight requests up to the deadline, runs the shutdown hooks. */
  close(): Promise<void>;
}

/** Something to flush or close on shutdown (ledger, queues, connections), run in reverse order of registration. */
export type ShutdownHook = () => Promise<void> | void;

/** Builds the dependencies from the configuration. Later subsystems register their own shutdown hooks. */
export async function buildDeps(
  config: GatewayConfig,
  logger: Logger,
): Promise<{ deps: AppDeps; hooks: ShutdownHook[] }> {
  const hooks: ShutdownHook[] = [];
  const events = new GatewayEvents((error, hook) =>
    logger.error({ err: error, hook }, "event listener failed"),
  );
  const store = new ConfigStore(config);

  // Cost ledger, budget and response cache (issue 4). Hooks run in reverse on
  // shutdown: the cache disconnects, the budget settles, then the ledger drains
  // every buffered row to the database (or the spool) before the process exits.
  const ledger = await openCostLedger({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
    prices: () => store.get().file.prices,
    clock: systemClock,
  });
  ledger.attach(events);
  hooks.push(() => ledger.close());
  const budget = await createBudget({
    config: store,
    logger,
    clock: systemClock,
    ledgerSpent: (day) => ledger.spentPico(day),
  });
  budget.budget.attach(events);
  hooks.push(budget.close);
  const cache = await createResponseCache({ redisUrl: config.redisUrl, logger });
  hooks.push(cache.close);

  const gateway = new ChatGateway({ config: store, logger, events });
  hooks.push(() => gateway.close());
  const deps: AppDeps = {
    config: store,
    logger,
    events,
    clock: systemClock,
    gateway,
    cache: cache.cache,
    ledger,
    budget: budget.budget,
  };
  return { deps, hooks };
}

/** Starts the gateway on the configured address. */
export async function startGateway(
  config: GatewayConfig,
  logger: Logger = createLogger({ level: config.logLevel }),
): Promise<RunningGateway> {
  const { deps, hooks } = await buildDeps(config, logger);
  const app = createApp(deps);
  const server = app.listen(config.port, config.host);
  await once(server, "listening");
  // Upstream load balancers keep connections open for 60 s or more; outlive them
  // so the gateway never closes a socket a client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.host, environment: config.environment }, "gateway listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const deadline = config.shutdownTimeoutSeconds * 1000;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn({ deadlineMs: deadline }, "shutdown deadline reached; closing remaining connections");
        server.closeAllConnections();
      }, deadline);
      timer.unref();
      await closed;
      clearTimeout(timer);
      for (const hook of hooks.reverse()) {
        try {
          await hook();
        } catch (error) {
          logger.error({ err: error }, "shutdown hook failed");
        }
      }
    })();
    return closing;
  };
  return { server, port, deps, close };
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
  const gateway = await startGateway(config, logger);
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
