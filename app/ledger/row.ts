import { z } from "zod";

/** One served request as the ledger stores it (and as the spool file holds it, one JSON per line). */
export interface LedgerRow {
  readonly requestId: string;
  /** ISO timestamp, UTC. */
  readonly occurredAt: string;
  /** UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly tenant: string;
  readonly provider: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Exact USD decimal string (12 decimals). */
  readonly costUsd: string;
  readonly latencyMs: number;
  readonly attempts: number;
  readonly fallbackUsed: boolean;
  readonly cacheHit: boolean;
  readonly unpriced: boolean;
  readonly stream: boolean;
  readonly status: number;
}

const count = z.number().int().nonnegative();

/** Validates a row read back from the spool; anything else is a corrupt line. */
export const ledgerRowSchema = z.strictObject({
  requestId: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  day: z.iso.date(),
  tenant: z.string(),
  provider: z.string().min(1),
  model: z.string(),
  inputTokens: count,
  outputTokens: count,
  costUsd: z.string().regex(/^\d+(\.\d{1,12})?$/),
  latencyMs: count,
  attempts: count,
  fallbackUsed: z.boolean(),
  cacheHit: z.boolean(),
  unpriced: z.boolean(),
  stream: z.boolean(),
  status: z.number().int(),
});

/** Row fields with their column and SQL type, in table order. */
const COLUMNS: ReadonlyArray<readonly [keyof LedgerRow, string, string]> = [
  ["requestId", "request_id", "text"],
  ["occurredAt", "occurred_at", "timestamptz"],
  ["day", "day", "date"],
  ["tenant", "tenant", "text"],
  ["provider", "provider", "text"],
  ["model", "model", "text"],
  ["inputTokens", "input_tokens", "integer"],
  ["outputTokens", "output_tokens", "integer"],
  ["costUsd", "cost_usd", "numeric"],
  ["latencyMs", "latency_ms", "integer"],
  ["attempts", "attempts", "integer"],
  ["fallbackUsed", "fallback_used", "boolean"],
  ["cacheHit", "cache_hit", "boolean"],
  ["unpriced", "unpriced", "boolean"],
  ["stream", "stream", "boolean"],
  ["status", "status", "integer"],
];

// The batch travels as one JSON parameter that Postgres unpacks with
// json_to_recordset: one native JSON.stringify instead of 16 bound values per
// row, and no 65,535-parameter ceiling on the batch size.
const INSERT_SQL = `INSERT INTO ledger_requests (${COLUMNS.map(([, column]) => column).join(", ")})
  SELECT ${COLUMNS.map(([field]) => `r."${field}"`).join(", ")}
    FROM json_to_recordset($1::json) AS r(${COLUMNS.map(([field, , type]) => `"${field}" ${type}`).join(", ")})
  ON CONFLICT (request_id) DO NOTHING`;

/**
 * One INSERT for a batch. `ON CONFLICT DO NOTHING` on the request id makes
 * every write idempotent, so a spool replayed twice never double-counts.
 */
export function insertStatement(rows: readonly LedgerRow[]): { sql: string; params: unknown[] } {
  return { sql: INSERT_SQL, params: [JSON.stringify(rows)] };
}
