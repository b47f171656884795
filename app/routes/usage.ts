import { Router } from "express";
import type { Budget } from "../budget/budget";
import { HttpError } from "../errors";
import type { CostLedger, DayUsage, HistoryRow } from "../ledger/ledger";
import { utcDay } from "../ledger/ledger";
import { picoToUsdNumber } from "../ledger/money";

/** Options of {@link usageRoutes}. */
export interface UsageRoutesOptions {
  readonly ledger: CostLedger;
  readonly budget: Budget;
  readonly clock?: { now(): number };
}

/** True for a real calendar day written `YYYY-MM-DD`. */
export function isCalendarDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const time = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(time) && utcDay(time) === text;
}

/**
 * The tenant whose usage a request may read: its own, or with an admin key
 * (`GATEWAY_ADMIN_KEYS`) every tenant (undefined) or the one `?tenant=` names.
 */
function usageTenant(query: unknown, tenant: string, admin: boolean): string | undefined {
  if (query === undefined) return admin ? undefined : tenant;
  if (typeof query !== "string" || query === "" || query.length > 128) {
    throw new HttpError(400, {
      message: "tenant must be given once, as a tenant id",
      type: "invalid_request_error",
      code: "invalid_tenant",
    });
  }
  if (!admin && query !== tenant) {
    throw new HttpError(403, {
      message: "Reading another tenant's usage needs an admin key (GATEWAY_ADMIN_KEYS)",
      type: "permission_error",
      code: "admin_key_required",
    });
  }
  return query;
}

const MS_PER_DAY = 86_400_000;

function addDays(day: string, offset: number): string {
  return utcDay(Date.parse(`${day}T00:00:00Z`) + offset * MS_PER_DAY);
}

function invalidRange(message: string): HttpError {
  return new HttpError(400, { message, type: "invalid_request_error", code: "invalid_date_range" });
}

/** Checks `from`/`to` against the calendar and the rollup retention window; returns the days. */
function historyRange(
  query: Record<string, unknown>,
  today: string,
  retentionDays: number,
): [string, string] {
  if (query["date"] !== undefined) throw invalidRange("give either date, or from and to, not both");
  const from = query["from"];
  const to = query["to"];
  if (typeof from !== "string" || typeof to !== "string" || !isCalendarDay(from) || !isCalendarDay(to)) {
    throw invalidRange(
      `from and to must both be calendar days written YYYY-MM-DD; got from "${String(from).slice(0, 40)}", to "${String(to).slice(0, 40)}"`,
    );
  }
  const oldest = addDays(today, -retentionDays);
  if (from > to) throw invalidRange(`from (${from}) must not be after to (${to})`);
  if (from < oldest || to > today) {
    throw invalidRange(
      `usage history covers ${oldest} to ${today} (LEDGER_ROLLUP_RETENTION_DAYS=${retentionDays}); got ${from} to ${to}`,
    );
  }
  return [from, to];
}

interface Totals {
  requests: number;
  cacheHits: number;
  inputTokens: number;
  outputTokens: number;
  costPico: bigint;
  estimated: number;
}

const zero = (): Totals => ({
  requests: 0,
  cacheHits: 0,
  inputTokens: 0,
  outputTokens: 0,
  costPico: 0n,
  estimated: 0,
});

function add(totals: Totals, row: HistoryRow): void {
  totals.requests += row.requests;
  totals.cacheHits += row.cacheHits;
  totals.inputTokens += row.inputTokens;
  totals.outputTokens += row.outputTokens;
  totals.costPico += row.costPico;
  totals.estimated += row.estimated;
}

function share(totals: Totals) {
  return {
    requests: totals.requests,
    tokens: totals.inputTokens + totals.outputTokens,
    cost: picoToUsdNumber(totals.costPico),
  };
}

function summary(totals: Totals) {
  return {
    totalTokens: totals.inputTokens + totals.outputTokens,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    totalCost: picoToUsdNumber(totals.costPico),
    requests: totals.requests,
    cacheHits: totals.cacheHits,
    estimated: totals.estimated,
  };
}

function entry<V>(map: Map<string, V>, key: string, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** The history response: every day from `from` to `to` (zeros included), by provider and model, and by tenant when asked. */
function historyBody(rows: readonly HistoryRow[], from: string, to: string, byTenant: boolean) {
  const days = new Map<
    string,
    {
      totals: Totals;
      providers: Map<string, { totals: Totals; models: Map<string, Totals> }>;
      tenants: Map<string, Totals>;
    }
  >();
  for (let day = from; day <= to; day = addDays(day, 1)) {
    days.set(day, { totals: zero(), providers: new Map(), tenants: new Map() });
  }
  const all = zero();
  for (const row of rows) {
    const day = days.get(row.day);
    if (!day) continue;
    add(all, row);
    add(day.totals, row);
    const provider = entry(day.providers, row.provider, () => ({ totals: zero(), models: new Map() }));
    add(provider.totals, row);
    add(entry(provider.models, row.model, zero), row);
    add(entry(day.tenants, row.tenant, zero), row);
  }
  return {
    from,
    to,
    ...summary(all),
    days: [...days].map(([date, day]) => ({
      date,
      ...summary(day.totals),
      byProvider: Object.fromEntries(
        [...day.providers].map(([name, provider]) => [
          name,
          {
            ...share(provider.totals),
            byModel: Object.fromEntries(
              [...provider.models].map(([model, totals]) => [model, summary(totals)]),
            ),
          },
        ]),
      ),
      ...(byTenant
        ? {
            byTenant: Object.fromEntries([...day.tenants].map(([tenant, totals]) => [tenant, share(totals)])),
          }
        : {}),
    })),
  };
}

function unavailable(error: unknown): HttpError {
  // The ledger database is away (rows are safe in the spool); say so instead of a 500.
  return new HttpError(503, {
    message: "Usage is unavailable: the ledger database cannot be reached; retry shortly",
    type: "server_error",
    code: "ledger_unavailable",
    cause: error,
    headers: { "Retry-After": "5" },
  });
}

/**
 * `GET /v1/usage?date=YYYY-MM-DD`: a day's tokens, cost and budget from the
 * ledger (docs/design.md section 3), for the caller's tenant; admin keys see every
 * tenant and may filter with `?tenant=`. `GET /v1/usage?from=…&to=…` answers
 * history within `LEDGER_ROLLUP_RETENTION_DAYS`: per day, provider and model,
 * and per tenant for an admin key reading every tenant. Both read the rollups.
 */
export function usageRoutes(options: UsageRoutesOptions): Router {
  const router = Router();
  const clock = options.clock ?? { now: () => Date.now() };
  router.get("/v1/usage", async function usage(req, res) {
    if (req.query["from"] !== undefined || req.query["to"] !== undefined) {
      const today = utcDay(clock.now());
      const [from, to] = historyRange(req.query, today, options.ledger.rollupRetentionDays);
      const admin = res.locals["admin"] === true;
      const tenant = usageTenant(req.query["tenant"], String(res.locals["tenant"] ?? "anonymous"), admin);
      let rows: HistoryRow[];
      try {
        rows = await options.ledger.history(from, to, tenant);
      } catch (error) {
        throw unavailable(error);
      }
      res.setHeader("cache-control", "no-store");
      res.json({ ...historyBody(rows, from, to, tenant === undefined), tenant: tenant ?? null });
      return;
    }
    const raw = req.query["date"];
    const date = raw === undefined ? utcDay(clock.now()) : typeof raw === "string" ? raw : "";
    if (!isCalendarDay(date)) {
      throw new HttpError(400, {
        message: `date must be a calendar day written YYYY-MM-DD; got "${String(raw).slice(0, 40)}"`,
        type: "invalid_request_error",
        code: "invalid_date",
      });
    }
    const tenant = usageTenant(
      req.query["tenant"],
      String(res.locals["tenant"] ?? "anonymous"),
      res.locals["admin"] === true,
    );
    let usage: DayUsage;
    try {
      usage = await options.ledger.usage(date, tenant);
    } catch (error) {
      throw unavailable(error);
    }
    const budget = await options.budget.status(date, usage.costPico);
    const byProvider: Record<string, { requests: number; tokens: number; cost: number }> = {};
    for (const [provider, share] of Object.entries(usage.byProvider)) {
      byProvider[provider] = {
        requests: share.requests,
        tokens: share.tokens,
        cost: picoToUsdNumber(share.costPico),
      };
    }
    res.setHeader("cache-control", "no-store");
    res.json({
      date,
      totalTokens: usage.inputTokens + usage.outputTokens,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      totalCost: picoToUsdNumber(usage.costPico),
      requests: usage.requests,
      cacheHits: usage.cacheHits,
      byProvider,
      budget,
    });
  });
  return router;
}
