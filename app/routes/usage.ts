import { Router } from "express";
import type { Budget } from "../budget/budget";
import { HttpError } from "../errors";
import type { CostLedger, DayUsage } from "../ledger/ledger";
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

/**
 * `GET /v1/usage?date=YYYY-MM-DD`: a day's tokens, cost and budget from the
 * ledger (docs/design.md section 3), for the caller's tenant; admin keys see every
 * tenant and may filter with `?tenant=`.
 */
export function usageRoutes(options: UsageRoutesOptions): Router {
  const router = Router();
  const clock = options.clock ?? { now: () => Date.now() };
  router.get("/v1/usage", async function usage(req, res) {
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
      // The ledger database is away (rows are safe in the spool); say so instead of a 500.
      throw new HttpError(503, {
        message: "Usage is unavailable: the ledger database cannot be reached; retry shortly",
        type: "server_error",
        code: "ledger_unavailable",
        cause: error,
        headers: { "Retry-After": "5" },
      });
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
