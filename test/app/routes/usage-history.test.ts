import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBudget } from "../../../app/budget";
import { ConfigStore } from "../../../app/config/config-store";
import { type CostLedger, openCostLedger } from "../../../app/ledger/ledger";
import { insertStatement } from "../../../app/ledger/row";
import { errorHandler } from "../../../app/middleware/error-handler";
import { createLogger } from "../../../app/observability/logger";
import { usageRoutes } from "../../../app/routes/usage";
import { LogCapture, testConfig } from "../../helpers/deps";
import { ledgerRow } from "../../helpers/events";
import { type Listening, listen } from "../../helpers/http";
import { DATABASE_URL, pgSchema, tempDir } from "../../helpers/real-services";

const { schema, cleanup: dropSchema } = pgSchema();
const data = tempDir();
const clock = { now: () => Date.parse("2026-11-26T15:30:00Z") };
let ledger: CostLedger;
let server: Listening;
let closeBudget: () => Promise<void>;

function row(day: string, tenant: string, provider: string, model: string, costUsd: string, extra = {}) {
  return ledgerRow({
    occurredAt: `${day}T09:00:00.000Z`,
    day,
    tenant,
    provider,
    model,
    inputTokens: 100,
    outputTokens: 10,
    costUsd,
    ...extra,
  });
}

beforeAll(async () => {
  const logger = createLogger({ level: "debug", destination: new LogCapture() });
  ledger = await openCostLedger({
    databaseUrl: DATABASE_URL,
    dataDir: data.dir,
    schema,
    logger,
    clock,
    rollupRetentionDays: 30,
  });
  const { sql, params } = insertStatement([
    row("2026-11-24", "tenant-a", "openai", "gpt-4o", "1.5"),
    row("2026-11-24", "tenant-a", "openai", "gpt-4o-mini", "0.25"),
    row("2026-11-24", "tenant-b", "claude", "claude-3-5-haiku-latest", "2"),
    row("2026-11-26", "tenant-a", "openai", "gpt-4o", "0", { cacheHit: true }),
    row("2026-11-26", "tenant-b", "openai", "gpt-4o", "0.5", { estimated: true }),
    row("2026-10-01", "tenant-a", "openai", "gpt-4o", "9"),
  ]);
  await ledger.db.query(sql, params);
  const created = await createBudget({
    config: new ConfigStore(testConfig({ AI_DAILY_BUDGET: "10" })),
    logger,
    clock,
    ledgerSpent: (day) => ledger.spentPico(day),
  });
  closeBudget = created.close;
  const app = express();
  // What client auth sets: the tenant of the key, and whether it is an admin key.
  app.use((req, res, next) => {
    res.locals["tenant"] = req.header("x-test-tenant") ?? "tenant-a";
    res.locals["admin"] = req.header("x-test-admin") === "yes";
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

const get = (query: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/usage?${query}`, { headers });

describe("GET /v1/usage?from=…&to=… (usage history from the rollups)", () => {
  it("answers the caller's tenant per day, provider and model, every day in the range", async () => {
    const response = await get("from=2026-11-24&to=2026-11-26");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const zeroTotals = {
      totalTokens: 0,
      inputTokens: 0,
      outputTokens: 0,
      totalCost: 0,
      requests: 0,
      cacheHits: 0,
      estimated: 0,
    };
    const zeroDay = { ...zeroTotals, byProvider: {} };
    expect(await response.json()).toEqual({
      from: "2026-11-24",
      to: "2026-11-26",
      tenant: "tenant-a",
      totalTokens: 220,
      inputTokens: 200,
      outputTokens: 20,
      totalCost: 1.75,
      requests: 3,
      cacheHits: 1,
      estimated: 0,
      days: [
        {
          date: "2026-11-24",
          totalTokens: 220,
          inputTokens: 200,
          outputTokens: 20,
          totalCost: 1.75,
          requests: 2,
          cacheHits: 0,
          estimated: 0,
          byProvider: {
            openai: {
              requests: 2,
              tokens: 220,
              cost: 1.75,
              byModel: {
                "gpt-4o": {
                  totalTokens: 110,
                  inputTokens: 100,
                  outputTokens: 10,
                  totalCost: 1.5,
                  requests: 1,
                  cacheHits: 0,
                  estimated: 0,
                },
                "gpt-4o-mini": {
                  totalTokens: 110,
                  inputTokens: 100,
                  outputTokens: 10,
                  totalCost: 0.25,
                  requests: 1,
                  cacheHits: 0,
                  estimated: 0,
                },
              },
            },
          },
        },
        { date: "2026-11-25", ...zeroDay },
        {
          date: "2026-11-26",
          ...zeroDay,
          requests: 1,
          cacheHits: 1,
          byProvider: {
            openai: {
              requests: 1,
              tokens: 0,
              cost: 0,
              byModel: {
                "gpt-4o": { ...zeroTotals, requests: 1, cacheHits: 1 },
              },
            },
          },
        },
      ],
    });
  });

  it("answers every tenant, with a per-tenant breakdown, for an admin key", async () => {
    const response = await get("from=2026-11-24&to=2026-11-26", { "x-test-admin": "yes" });
    const body = (await response.json()) as {
      tenant: string | null;
      totalCost: number;
      days: Array<{ date: string; byTenant: Record<string, unknown>; estimated: number }>;
    };
    expect(body.tenant).toBeNull();
    expect(body.totalCost).toBe(4.25);
    expect(body.days[0]!.byTenant).toEqual({
      "tenant-a": { requests: 2, tokens: 220, cost: 1.75 },
      "tenant-b": { requests: 1, tokens: 110, cost: 2 },
    });
    expect(body.days[2]).toMatchObject({
      estimated: 1,
      byTenant: {
        "tenant-a": { requests: 1, tokens: 0, cost: 0 },
        "tenant-b": { requests: 1, tokens: 110, cost: 0.5 },
      },
    });
    const one = await get("from=2026-11-24&to=2026-11-24&tenant=tenant-b", { "x-test-admin": "yes" });
    expect(await one.json()).toMatchObject({
      tenant: "tenant-b",
      totalCost: 2,
      days: [{ date: "2026-11-24" }],
    });
  });

  it("fails with 403 when a tenant asks for another tenant's history without an admin key", async () => {
    const response = await get("from=2026-11-24&to=2026-11-26&tenant=tenant-b");
    expect(response.status).toBe(403);
  });

  it.each([
    [
      "from=2026-11-24",
      'from and to must both be calendar days written YYYY-MM-DD; got from "2026-11-24", to "undefined"',
    ],
    [
      "from=2026-02-30&to=2026-03-01",
      'from and to must both be calendar days written YYYY-MM-DD; got from "2026-02-30", to "2026-03-01"',
    ],
    ["from=2026-11-26&to=2026-11-24", "from (2026-11-26) must not be after to (2026-11-24)"],
    [
      "from=2026-10-01&to=2026-11-26",
      "usage history covers 2026-10-27 to 2026-11-26 (LEDGER_ROLLUP_RETENTION_DAYS=30); got 2026-10-01 to 2026-11-26",
    ],
    [
      "from=2026-11-26&to=2026-11-27",
      "usage history covers 2026-10-27 to 2026-11-26 (LEDGER_ROLLUP_RETENTION_DAYS=30); got 2026-11-26 to 2026-11-27",
    ],
    ["date=2026-11-26&from=2026-11-24&to=2026-11-26", "give either date, or from and to, not both"],
  ])("fails with 400 for %s", async (query, message) => {
    const response = await get(query);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message, type: "invalid_request_error", code: "invalid_date_range" },
    });
  });

  it("leaves the one-day answer as it was, now read from the rollups", async () => {
    const response = await get("date=2026-11-24", { "x-test-admin": "yes" });
    expect(await response.json()).toEqual({
      date: "2026-11-24",
      totalTokens: 330,
      inputTokens: 300,
      outputTokens: 30,
      totalCost: 3.75,
      requests: 3,
      cacheHits: 0,
      byProvider: {
        claude: { requests: 1, tokens: 110, cost: 2 },
        openai: { requests: 2, tokens: 220, cost: 1.75 },
      },
      budget: { limit: 10, spent: 3.75, percent: 37.5 },
    });
  });
});
