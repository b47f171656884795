/** Columns the trigger forwards from ledger_requests to its partitioned copy. */
const FORWARDED =
  "request_id, occurred_at, day, tenant, provider, model, input_tokens, output_tokens, cost_usd, latency_ms, attempts, fallback_used, cache_hit, unpriced, stream, status, client_request_id, estimated, kind";

/**
 * Adds the rows a preceding `moved` CTE returned to the day's rollups. Groups
 * in key order so concurrent writers lock rollup rows in one order (no
 * deadlock). Tokens count what went upstream (cache hits excluded), as
 * `/v1/usage` always has.
 */
const ROLLUP_FROM_MOVED = `INSERT INTO ledger_daily AS d
          (day, tenant, provider, model, kind, requests, cache_hits, input_tokens, output_tokens, cost_usd, estimated)
        SELECT day, tenant, provider, model, kind, count(*), count(*) FILTER (WHERE cache_hit),
               coalesce(sum(input_tokens) FILTER (WHERE NOT cache_hit), 0),
               coalesce(sum(output_tokens) FILTER (WHERE NOT cache_hit), 0),
               coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE estimated)
          FROM moved GROUP BY day, tenant, provider, model, kind ORDER BY day, tenant, provider, model, kind
        ON CONFLICT (day, tenant, provider, model, kind) DO UPDATE SET
          requests = d.requests + EXCLUDED.requests,
          cache_hits = d.cache_hits + EXCLUDED.cache_hits,
          input_tokens = d.input_tokens + EXCLUDED.input_tokens,
          output_tokens = d.output_tokens + EXCLUDED.output_tokens,
          cost_usd = d.cost_usd + EXCLUDED.cost_usd,
          estimated = d.estimated + EXCLUDED.estimated`;

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
  {
    // Daily partitions and rollups (issue 18; docs/design.md section 5). Expand
    // only: the unpartitioned ledger_requests stays, and every release (the
    // previous one included) keeps inserting into it with ON CONFLICT
    // (request_id), which a partitioned table cannot arbitrate. A statement
    // trigger forwards each inserted batch, in the same transaction, into the
    // day-partitioned ledger_requests_by_day and adds it to ledger_daily;
    // RETURNING yields only rows not already there, so a replay, a backfilled
    // row or a second writer never counts twice. Rows already in the table
    // are copied under a lock that holds writers back for the copy (they wait
    // or spool and replay), so none is missed or counted twice.
    version: 3,
    name: "ledger daily partitions and rollups",
    sql: `
      ALTER TABLE ledger_requests ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'chat';
      LOCK TABLE ledger_requests IN SHARE ROW EXCLUSIVE MODE;
      CREATE TABLE IF NOT EXISTS ledger_requests_by_day (
        request_id        TEXT NOT NULL,
        occurred_at       TIMESTAMPTZ NOT NULL,
        day               DATE NOT NULL,
        tenant            TEXT NOT NULL,
        provider          TEXT NOT NULL,
        model             TEXT NOT NULL,
        input_tokens      INTEGER NOT NULL CHECK (input_tokens >= 0),
        output_tokens     INTEGER NOT NULL CHECK (output_tokens >= 0),
        cost_usd          NUMERIC(24, 12) NOT NULL CHECK (cost_usd >= 0),
        latency_ms        INTEGER NOT NULL,
        attempts          INTEGER NOT NULL,
        fallback_used     BOOLEAN NOT NULL,
        cache_hit         BOOLEAN NOT NULL,
        unpriced          BOOLEAN NOT NULL,
        stream            BOOLEAN NOT NULL,
        status            INTEGER NOT NULL,
        client_request_id TEXT,
        estimated         BOOLEAN NOT NULL DEFAULT false,
        kind              TEXT NOT NULL DEFAULT 'chat',
        PRIMARY KEY (day, request_id)
      ) PARTITION BY RANGE (day);
      CREATE TABLE IF NOT EXISTS ledger_requests_by_day_default PARTITION OF ledger_requests_by_day DEFAULT;
      CREATE TABLE IF NOT EXISTS ledger_daily (
        day           DATE NOT NULL,
        tenant        TEXT NOT NULL,
        provider      TEXT NOT NULL,
        model         TEXT NOT NULL,
        kind          TEXT NOT NULL,
        requests      BIGINT NOT NULL,
        cache_hits    BIGINT NOT NULL,
        input_tokens  BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cost_usd      NUMERIC(30, 12) NOT NULL,
        estimated     BIGINT NOT NULL,
        PRIMARY KEY (day, tenant, provider, model, kind)
      );
      CREATE INDEX IF NOT EXISTS ledger_daily_tenant_day ON ledger_daily (tenant, day);
      CREATE OR REPLACE FUNCTION ledger_forward_rows() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $fn$
      BEGIN
        WITH moved AS (
          INSERT INTO ledger_requests_by_day (${FORWARDED})
          SELECT ${FORWARDED} FROM added
          ON CONFLICT (day, request_id) DO NOTHING
          RETURNING day, tenant, provider, model, kind, cache_hit, estimated, input_tokens, output_tokens, cost_usd
        )
        ${ROLLUP_FROM_MOVED};
        RETURN NULL;
      END
      $fn$;
      CREATE OR REPLACE TRIGGER ledger_requests_forward AFTER INSERT ON ledger_requests
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ledger_forward_rows();
      DO $fn$
      DECLARE d DATE;
      BEGIN
        FOR d IN SELECT DISTINCT day FROM ledger_requests ORDER BY 1 LOOP
          EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF ledger_requests_by_day FOR VALUES FROM (%L) TO (%L)',
                         'ledger_requests_by_day_' || to_char(d, 'YYYYMMDD'), d, d + 1);
        END LOOP;
      END
      $fn$;
      WITH moved AS (
        INSERT INTO ledger_requests_by_day (${FORWARDED})
        SELECT ${FORWARDED} FROM ledger_requests
        ON CONFLICT (day, request_id) DO NOTHING
        RETURNING day, tenant, provider, model, kind, cache_hit, estimated, input_tokens, output_tokens, cost_usd
      )
      ${ROLLUP_FROM_MOVED};
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
