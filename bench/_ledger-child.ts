import pino from "pino";
import { type Budget, createBudget } from "../app/budget";
import { createResponseCache, type ResponseCache } from "../app/cache";
import { ConfigStore } from "../app/config/config-store";
import { loadConfig } from "../app/config/load-config";
import { ChatGateway } from "../app/gateway/chat-gateway";
import { type CostLedger, openCostLedger } from "../app/ledger/ledger";
import { GatewayEvents } from "../app/observability/events";
import { createLogger } from "../app/observability/logger";
import { createApp } from "../app/server";

// One gateway under load for bench/cache.bench.ts, in its own process:
// BENCH_CACHE = memory | redis | off, BENCH_LEDGER = on | off. The ledger
// writes to Postgres (DATABASE_URL, schema BENCH_SCHEMA); the budget counts in
// Redis when BENCH_CACHE is redis, else in memory. Logging at info into /dev/null.
async function main(): Promise<void> {
  const upstream = process.env["BENCH_UPSTREAM"];
  if (!upstream) throw new Error("BENCH_UPSTREAM is required");
  const cacheMode = process.env["BENCH_CACHE"] ?? "off";
  const ledgerOn = process.env["BENCH_LEDGER"] === "on";
  const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
  const databaseUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
  const prefix = process.env["BENCH_PREFIX"] ?? "bench:";
  const config = new ConfigStore(
    loadConfig({
      ENVIRONMENT: "development",
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      OPENAI_API_KEY: "sk-bench",
      OPENAI_BASE_URL: `${upstream}/v1`,
      LOG_LEVEL: "info",
      AI_CACHE_ENABLED: cacheMode === "off" ? "false" : "true",
      DATA_DIR: process.env["BENCH_DATA_DIR"] ?? ".data/bench",
    }),
  );
  const logger = createLogger({
    level: "info",
    destination: pino.destination({ dest: "/dev/null", sync: false }),
  });
  const events = new GatewayEvents();
  const gateway = new ChatGateway({ config, logger, events });
  let cache: ResponseCache | undefined;
  if (cacheMode !== "off") {
    cache = (
      await createResponseCache({
        redisUrl: cacheMode === "redis" ? redisUrl : undefined,
        logger,
        keyPrefix: prefix,
      })
    ).cache;
  }
  let ledger: CostLedger | undefined;
  let budget: Budget | undefined;
  if (ledgerOn) {
    ledger = await openCostLedger({
      databaseUrl,
      dataDir: ".data/bench",
      schema: process.env["BENCH_SCHEMA"] ?? "bench_ledger",
      logger,
    });
    ledger.attach(events);
    const created = await createBudget({ config, logger, ledgerSpent: (day) => ledger!.spentPico(day) });
    budget = created.budget;
    budget.attach(events);
  }
  const app = createApp({ config, logger, events, gateway, cache, ledger, budget });
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
  });
  server.keepAliveTimeout = 65_000;
  process.on("message", (message) => {
    if (message === "cpu") process.send?.({ cpu: process.cpuUsage() });
    if (message === "exit") {
      server.close(async () => {
        await ledger?.close();
        process.exit(0);
      });
      server.closeAllConnections();
    }
  });
}

void main();
