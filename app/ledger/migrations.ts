/** One versioned schema change; applied once, in order, and recorded in `ledger_migrations`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The ledger schema, as plain versioned SQL that runs unchanged on Postgres and
 * PGlite. Kept in code rather than .sql files so the esbuild bundle carries it.
 * Append new versions; never edit an applied one.
 *
 * Expand only: pods migrate at start against the Postgres both blue-green slots
 * share, so a release changes the schema before it is promoted, and a rollback
 * runs the previous release on the new schema. A migration may only add
 * (tables, indexes, nullable columns or columns with a default); dropping,
 * renaming, retyping or tightening waits until no running release reads the
 * old shape, and then goes in as its own reviewed release. See
 * {@link contractingStatements}.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "ledger requests",
    sql: `
      CREATE TABLE IF NOT EXISTS ledger_requests (
        request_id     TEXT PRIMARY KEY,
        occurred_at    TIMESTAMPTZ NOT NULL,
        day            DATE NOT NULL,
        tenant         TEXT NOT NULL,
        provider       TEXT NOT NULL,
        model          TEXT NOT NULL,
        input_tokens   INTEGER NOT NULL CHECK (input_tokens >= 0),
        output_tokens  INTEGER NOT NULL CHECK (output_tokens >= 0),
        cost_usd       NUMERIC(24, 12) NOT NULL CHECK (cost_usd >= 0),
        latency_ms     INTEGER NOT NULL,
        attempts       INTEGER NOT NULL,
        fallback_used  BOOLEAN NOT NULL,
        cache_hit      BOOLEAN NOT NULL,
        unpriced       BOOLEAN NOT NULL,
        stream         BOOLEAN NOT NULL,
        status         INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ledger_requests_day_provider ON ledger_requests (day, provider);
    `,
  },
  {
    // Expand-only, so the previous release's writer (which names its columns
    // and fills request_id itself) keeps working against this schema.
    version: 2,
    name: "ledger keys, client request ids and estimates",
    sql: `
      ALTER TABLE ledger_requests ADD COLUMN IF NOT EXISTS client_request_id TEXT;
      ALTER TABLE ledger_requests ADD COLUMN IF NOT EXISTS estimated BOOLEAN NOT NULL DEFAULT false;
      CREATE INDEX IF NOT EXISTS ledger_requests_day_tenant ON ledger_requests (day, tenant);
    `,
  },
];

/** Statements that contract the schema (break a release still running on it), with why. */
const CONTRACTING: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bDROP\b/i, "drops something the previous release may read or write"],
  [/\bRENAME\b/i, "renames something the previous release names"],
  [/\bALTER\s+COLUMN\b/i, "changes a column's type, default or nullability under the previous release"],
  [/\bTRUNCATE\b|\bDELETE\s+FROM\b/i, "deletes rows"],
  [
    /\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+[^,;]*\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)/i,
    "adds a NOT NULL column without a default, which the previous release's INSERT does not fill",
  ],
];

/** Why a migration's SQL is not expand-only; empty when it only adds. */
export function contractingStatements(sql: string): string[] {
  return CONTRACTING.filter(([pattern]) => pattern.test(sql)).map(([, why]) => why);
}
