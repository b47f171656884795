import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBudget } from "../../../app/budget";
import { ConfigStore } from "../../../app/config/config-store";
import { type CostLedger, openCostLedger } from "../../../app/ledger/ledger";
import { errorHandler } from "../../../app/middleware/error-handler";
import { GatewayEvents } from "../../../app/observability/events";
import { createLogger } from "../../../app/observability/logger";
import { usageRoutes } from "../../../app/routes/usage";
import { LogCapture, testConfig } from "../../helpers/deps";
import { responseEvent } from "../../helpers/events";
import { type Listening, listen } from "../../helpers/http";
import { DATABASE_URL, pgSchema, TcpProxy, tempDir } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
const data = tempDir();
const clock = { now: () => Date.parse("2026-11-26T15:30:00Z") };
let ledger: CostLedger;
let server: Listening;
let closeBudget: () => Promise<void>;

beforeAll(async () => {
  const logger = createLogger({ level: "debug", destination: new LogCapture() });
  const events = new GatewayEvents();
  ledger = await openCostLedger({ databaseUrl: DATABASE_URL, dataDir: data.dir, schema, logger, clock });
  const created = await createBudget({
    config: new ConfigStore(testConfig({ AI_DAILY_BUDGET: "10" })),
    logger,
    clock,
    ledgerSpent: (day) => ledger.spentPico(day),
  });
  closeBudget = created.close;
  ledger.attach(events);
  created.budget.attach(events);
  // $2.50 of gpt-4o, $0.80 of claude-3-5-haiku, a cache hit, yesterday's $5.
  events.emit("onResponse", responseEvent({ model: "gpt-4o", inputTokens: 600_000, outputTokens: 100_000 }));
  events.emit(
    "onResponse",
    responseEvent({
      provider: "claude",
      model: "claude-3-5-haiku-latest",
      inputTokens: 1_000_000,
      outputTokens: 0,
    }),
  );
  events.emit(
    "onResponse",
    responseEvent({ model: "gpt-4o", cacheHit: true, inputTokens: 5, outputTokens: 5 }),
  );
  await created.budget.idle();
  const yesterday = { now: () => Date.parse("2026-11-25T10:00:00Z") };
  const old = await openCostLedger({
    databaseUrl: DATABASE_URL,
    dataDir: tempDir().dir,
    schema,
    logger,
    clock: yesterday,
  });
  old.record(responseEvent({ model: "gpt-4o", inputTokens: 2_000_000, outputTokens: 0 }));
  await old.close();

  const app = express();
  // What client auth sets: these rows are all tenant-a's (responseEvent's default tenant).
  app.use((_req, res, next) => {
    res.locals["tenant"] = "tenant-a";
    next();
  });
  app.use(usageRoutes({ ledger, budget: created.budget, clock }));
  app.use(errorHandler({ logger }));
  server = await listen(app);
});
afterAll(async () => {
  await server.close();
  await closeBudget();
  await ledger.close();
  await dropSchema();
  data.cleanup();
});

describe("GET /v1/usage", () => {
  it("answers today's usage in the docs/design.md shape when no date is given", async () => {
    const response = await fetch(`${server.url}/v1/usage`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      date: "2026-11-26",
      totalTokens: 1_700_000,
      inputTokens: 1_600_000,
      outputTokens: 100_000,
      totalCost: 3.3,
      requests: 3,
      cacheHits: 1,
      byProvider: {
        claude: { requests: 1, tokens: 1_000_000, cost: 0.8 },
        openai: { requests: 2, tokens: 700_000, cost: 2.5 },
      },
      budget: { limit: 10, spent: 3.3, percent: 33 },
    });
  });

  it("answers a past day from the ledger", async () => {
    const response = await fetch(`${server.url}/v1/usage?date=2026-11-25`);
    expect(await response.json()).toMatchObject({
      date: "2026-11-25",
      totalCost: 5,
      requests: 1,
      budget: { limit: 10, spent: 5, percent: 50 },
    });
  });

  it("answers an empty day with zeros", async () => {
    const response = await fetch(`${server.url}/v1/usage?date=2020-02-29`);
    expect(await response.json()).toEqual({
      date: "2020-02-29",
      totalTokens: 0,
      inputTokens: 0,
      outputTokens: 0,
      totalCost: 0,
      requests: 0,
      cacheHits: 0,
      byProvider: {},
      budget: { limit: 10, spent: 0, percent: 0 },
    });
  });

  it.each(["yesterday", "2026-13-01", "2026-02-30", "2026-1-5", "", "2026-11-26T00:00:00Z"])(
    "fails when date is %j with 400",
    async (date) => {
      const response = await fetch(`${server.url}/v1/usage?date=${encodeURIComponent(date)}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          message: `date must be a calendar day written YYYY-MM-DD; got "${date}"`,
          type: "invalid_request_error",
          code: "invalid_date",
        },
      });
    },
  );

  it("answers 503 with Retry-After, not a 500, while the ledger database is unreachable", async () => {
    const proxy = TcpProxy.forUrl(DATABASE_URL);
    await proxy.start();
    const logger = createLogger({ level: "debug", destination: new LogCapture() });
    const away = await openCostLedger({
      databaseUrl: proxy.rewrite(DATABASE_URL),
      dataDir: tempDir().dir,
      schema,
      logger,
      clock,
    });
    await proxy.stop();
    const { budget, close } = await createBudget({ config: new ConfigStore(testConfig()), logger, clock });
    const app = express();
    app.use(usageRoutes({ ledger: away, budget, clock }));
    app.use(errorHandler({ logger }));
    const down = await listen(app);
    try {
      const response = await fetch(`${down.url}/v1/usage`);
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(await response.json()).toEqual({
        error: {
          message: "Usage is unavailable: the ledger database cannot be reached; retry shortly",
          type: "server_error",
          code: "ledger_unavailable",
        },
      });
    } finally {
      await down.close();
      await close();
      await away.close();
    }
  });

  it("fails when date is given twice with 400", async () => {
    const response = await fetch(`${server.url}/v1/usage?date=2026-11-26&date=2026-11-25`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_date");
  });
});
