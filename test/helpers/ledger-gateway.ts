import OpenAI from "openai";
import { Client } from "pg";
import { afterAll, beforeAll } from "vitest";
import { type Budget, createBudget } from "../../app/budget";
import { createResponseCache } from "../../app/cache";
import { ConfigStore } from "../../app/config/config-store";
import { ChatGateway } from "../../app/gateway/chat-gateway";
import { type CostLedger, openCostLedger } from "../../app/ledger/ledger";
import { GatewayEvents } from "../../app/observability/events";
import { createLogger } from "../../app/observability/logger";
import { createApp } from "../../app/server";
import { type FakeUpstream, startAnthropicFake, startGeminiFake, startOpenAIFake } from "../fakes";
import { LogCapture, testConfig } from "./deps";
import { type Listening, listen } from "./http";
import { DATABASE_URL, pgSchema, REDIS_URL, redisPrefix, tempDir } from "./real-services";

/** One fake per vendor format. */
export interface VendorFakes {
  readonly openai: FakeUpstream;
  readonly claude: FakeUpstream;
  readonly gemini: FakeUpstream;
  close(): Promise<void>;
}

/** Starts the OpenAI, Anthropic and Gemini fakes. */
export async function startVendorFakes(): Promise<VendorFakes> {
  const [openai, claude, gemini] = await Promise.all([
    startOpenAIFake(),
    startAnthropicFake(),
    startGeminiFake(),
  ]);
  return {
    openai,
    claude,
    gemini,
    close: async () => {
      await Promise.all([openai.close(), claude.close(), gemini.close()]);
    },
  };
}

/** The variables that point a gateway at the fakes (primary openai/gpt-4o, no retries). */
export function fakeEnv(fakes: VendorFakes): Record<string, string> {
  return {
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    AI_TIMEOUT_SECONDS: "5",
    OPENAI_API_KEY: "sk-test-openai-1",
    CLAUDE_API_KEY: "sk-ant-test-1",
    GEMINI_API_KEY: "gemini-test-1",
    OPENAI_BASE_URL: `${fakes.openai.origin}/v1`,
    CLAUDE_BASE_URL: fakes.claude.origin,
    GEMINI_BASE_URL: fakes.gemini.origin,
  };
}

/** The environment main's buildDeps gets for a ledger in `schema` (reached at `databaseUrl`) keeping files in `dataDir`. */
export function mainLedgerEnv(
  fakes: VendorFakes,
  databaseUrl: string,
  schema: string,
  dataDir: string,
): Record<string, string> {
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return { ENVIRONMENT: "development", ...fakeEnv(fakes), DATA_DIR: dataDir, DATABASE_URL: url.toString() };
}

/** One gateway "process": the real ChatGateway with a Redis cache, a Postgres ledger and a Redis budget. */
export interface LedgerGateway {
  readonly url: string;
  readonly client: OpenAI;
  readonly ledger: CostLedger;
  readonly budget: Budget;
  readonly logs: LogCapture;
  /** Waits until every priced response reached the budget counter. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startLedgerGateway}. */
export interface LedgerGatewayOptions {
  readonly fakes: VendorFakes;
  /** Postgres schema of the ledger. */
  readonly schema: string;
  /** Redis key prefix of the cache and budget; undefined keeps both in memory. */
  readonly redisPrefix?: string;
  readonly env?: Record<string, string>;
  /** Where Redis is (a TcpProxy in outage tests). @default REDIS_URL */
  readonly redisUrl?: string;
  /** Where Postgres is (a TcpProxy in outage tests). @default DATABASE_URL */
  readonly databaseUrl?: string;
}

/** Builds and starts one gateway on an ephemeral loopback port. */
export async function startLedgerGateway(options: LedgerGatewayOptions): Promise<LedgerGateway> {
  const logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const databaseUrl = options.databaseUrl ?? DATABASE_URL;
  const config = new ConfigStore(
    testConfig({
      ...fakeEnv(options.fakes),
      AI_CACHE_ENABLED: "true",
      ...(options.redisPrefix ? { REDIS_URL: redisUrl } : {}),
      DATABASE_URL: databaseUrl,
      ...options.env,
    }),
  );
  const events = new GatewayEvents();
  const data = tempDir();
  const ledger = await openCostLedger({
    databaseUrl,
    dataDir: data.dir,
    schema: options.schema,
    logger,
    prices: () => config.get().file.prices,
  });
  ledger.attach(events);
  const budget = await createBudget({
    config,
    logger,
    ledgerSpent: (day) => ledger.spentPico(day),
    price: (provider, model, input, output) => ledger.price(provider, model, input, output),
    keyPrefix: options.redisPrefix,
  });
  budget.budget.attach(events);
  const cache = await createResponseCache({
    redisUrl: options.redisPrefix ? redisUrl : undefined,
    logger,
    keyPrefix: options.redisPrefix,
  });
  const gateway = new ChatGateway({ config, logger, events });
  const server: Listening = await listen(
    createApp({ config, logger, events, gateway, cache: cache.cache, ledger, budget: budget.budget }),
  );
  return {
    url: server.url,
    client: new OpenAI({ apiKey: "client-key", baseURL: `${server.url}/v1`, maxRetries: 0 }),
    ledger,
    budget: budget.budget,
    logs,
    settle: () => budget.budget.idle(),
    close: async () => {
      await server.close();
      await gateway.close();
      await cache.close();
      await budget.close();
      await ledger.close();
      data.cleanup();
    },
  };
}

/** What {@link ledgerGatewaySuite} hands a test file once its `beforeAll` has run. */
export interface LedgerGatewaySuite {
  /** The Postgres schema of the ledger. */
  readonly schema: string;
  readonly fakes: VendorFakes;
  readonly gateway: LedgerGateway;
  /** A client of the test Postgres, to read the ledger rows. */
  readonly sql: Client;
}

/**
 * Registers `beforeAll`/`afterAll` for a test file: vendor fakes, a pg client
 * and one ledger gateway on a schema (and, with `redis`, a Redis key prefix)
 * of its own, all removed after the file.
 */
export function ledgerGatewaySuite(
  options: { redis?: boolean; env?: Record<string, string> } = {},
): LedgerGatewaySuite {
  const { schema, cleanup } = pgSchema();
  const redis = options.redis ? redisPrefix() : undefined;
  const parts: Partial<Record<"fakes" | "gateway" | "sql", unknown>> = {};
  beforeAll(async () => {
    const sql = new Client({ connectionString: DATABASE_URL });
    await sql.connect();
    parts.sql = sql;
    const fakes = await startVendorFakes();
    parts.fakes = fakes;
    parts.gateway = await startLedgerGateway({ fakes, schema, redisPrefix: redis?.prefix, env: options.env });
  });
  afterAll(async () => {
    await (parts.gateway as LedgerGateway | undefined)?.close();
    await (parts.fakes as VendorFakes | undefined)?.close();
    await (parts.sql as Client | undefined)?.end();
    await cleanup();
    await redis?.cleanup();
  });
  return {
    schema,
    get fakes() {
      return parts.fakes as VendorFakes;
    },
    get gateway() {
      return parts.gateway as LedgerGateway;
    },
    get sql() {
      return parts.sql as Client;
    },
  };
}
