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

const COLUMNS = [
  "request_id",
  "occurred_at",
  "day",
  "tenant",
  "provider",
  "model",
  "input_tokens",
  "output_tokens",
  "cost_usd",
  "latency_ms",
  "attempts",
  "fallback_used",
  "cache_hit",
  "unpriced",
  "stream",
  "status",
] as const;

/**
 * One multi-row INSERT for a batch. `ON CONFLICT DO NOTHING` on the request id
 * makes every write idempotent, so a spool replayed twice never double-counts.
 */
export function insertStatement(rows: readonly LedgerRow[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const values = [
      row.requestId,
      row.occurredAt,
      row.day,
      row.tenant,
      row.provider,
      row.model,
      row.inputTokens,
      row.outputTokens,
      row.costUsd,
      row.latencyMs,
      row.attempts,
      row.fallbackUsed,
      row.cacheHit,
      row.unpriced,
      row.stream,
      row.status,
    ];
    const placeholders = values.map((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  return {
    sql: `INSERT INTO ledger_requests (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT (request_id) DO NOTHING`,
    params,
  };
}
