import type { LedgerDb } from "./db";
import { PARTITIONED_TABLE } from "./partitions";

/** One rollup key whose stored totals differ from the sums of its raw rows. */
export interface RollupDifference {
  readonly tenant: string;
  readonly provider: string;
  readonly model: string;
  readonly kind: string;
  /** Recomputed from the raw rows; null when no raw row has this key. */
  readonly raw: RollupTotals | null;
  /** Stored in `ledger_daily`; null when no rollup row has this key. */
  readonly rollup: RollupTotals | null;
}

/** A rollup row's totals (counts and tokens as numbers, cost as the exact decimal string). */
export interface RollupTotals {
  readonly requests: number;
  readonly cacheHits: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: string;
  readonly estimated: number;
}

/** What {@link verifyDay} found. */
export interface VerifyReport {
  readonly day: string;
  /** Raw rows of the day in the partitioned table. */
  readonly rows: number;
  /** Rows of the day in the unpartitioned ledger_requests (every one is forwarded, so equal to `rows`). */
  readonly legacyRows: number;
  readonly differences: readonly RollupDifference[];
  readonly ok: boolean;
}

const TOTALS = ["requests", "cache_hits", "input_tokens", "output_tokens", "cost_usd", "estimated"] as const;

type Row = Record<string, string | null>;

function totals(row: Row, side: "raw" | "roll"): RollupTotals | null {
  if (row[`${side}_requests`] === null) return null;
  return {
    requests: Number(row[`${side}_requests`]),
    cacheHits: Number(row[`${side}_cache_hits`]),
    inputTokens: Number(row[`${side}_input_tokens`]),
    outputTokens: Number(row[`${side}_output_tokens`]),
    costUsd: String(row[`${side}_cost_usd`]),
    estimated: Number(row[`${side}_estimated`]),
  };
}

/**
 * Recomputes a day's rollups from its raw rows and compares them with
 * `ledger_daily` key by key (`npm run ledger:verify -- --day`).
 */
export async function verifyDay(db: Pick<LedgerDb, "query">, day: string): Promise<VerifyReport> {
  const rows = await db.query<Row>(
    `WITH raw AS (
       SELECT tenant, provider, model, kind, count(*) AS requests, count(*) FILTER (WHERE cache_hit) AS cache_hits,
              coalesce(sum(input_tokens) FILTER (WHERE NOT cache_hit), 0) AS input_tokens,
              coalesce(sum(output_tokens) FILTER (WHERE NOT cache_hit), 0) AS output_tokens,
              coalesce(sum(cost_usd), 0) AS cost_usd, count(*) FILTER (WHERE estimated) AS estimated
         FROM ${PARTITIONED_TABLE} WHERE day = $1 GROUP BY tenant, provider, model, kind),
     roll AS (
       SELECT tenant, provider, model, kind, ${TOTALS.join(", ")} FROM ledger_daily WHERE day = $1)
     SELECT tenant, provider, model, kind,
            ${TOTALS.map((column) => `raw.${column}::text AS raw_${column}, roll.${column}::text AS roll_${column}`).join(", ")}
       FROM raw FULL JOIN roll USING (tenant, provider, model, kind)
      WHERE ${TOTALS.map((column) => `raw.${column} IS DISTINCT FROM roll.${column}`).join(" OR ")}
      ORDER BY tenant, provider, model, kind`,
    [day],
  );
  const [counts] = await db.query<{ rows: string; legacy: string }>(
    `SELECT (SELECT count(*) FROM ${PARTITIONED_TABLE} WHERE day = $1)::text AS rows,
            (SELECT count(*) FROM ledger_requests WHERE day = $1)::text AS legacy`,
    [day],
  );
  const differences = rows.map((row) => ({
    tenant: String(row["tenant"]),
    provider: String(row["provider"]),
    model: String(row["model"]),
    kind: String(row["kind"]),
    raw: totals(row, "raw"),
    rollup: totals(row, "roll"),
  }));
  const raw = Number(counts?.rows ?? 0);
  const legacyRows = Number(counts?.legacy ?? 0);
  return { day, rows: raw, legacyRows, differences, ok: differences.length === 0 && raw === legacyRows };
}
