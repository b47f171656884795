import type { Server } from "node:http";
import type { Logger } from "pino";
import { buildDeps } from "./compose";
import { ConfigError, type GatewayConfig, loadConfig } from "./config/load-config";
import type { AppDeps } from "./deps";
import { createHttpServer } from "./http-server";
import { createLogger } from "./observability/logger";
import { METRIC } from "./observability/metric-names";
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

// Built in the composition root (app/compose.ts); re-exported where callers import it from.
export { buildDeps } from "./compose";
export type { ShutdownHook } from "./lifecycle";

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
