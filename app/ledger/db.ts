import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Pool } from "pg";
import type { Logger } from "pino";
import { MIGRATIONS, type Migration } from "./migrations";

/** The little SQL surface the ledger needs; Postgres (pg Pool) and PGlite both provide it. */
export interface LedgerDb {
  readonly kind: "postgres" | "pglite";
  /** One parameterized statement ($1, $2, …). */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs `work` on one connection holding a session advisory lock. */
  withAdvisoryLock<T>(
    lockKey: number,
    work: (db: Pick<LedgerDb, "query" | "exec">) => Promise<T>,
  ): Promise<T>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link openLedgerDb}. */
export interface OpenLedgerDbOptions {
  /** `DATABASE_URL`; unset opens PGlite under `dataDir`. */
  readonly databaseUrl?: string;
  /** Where PGlite keeps its files (`${dataDir}/ledger`). */
  readonly dataDir: string;
  /** Postgres schema for the ledger tables (tests isolate with their own); default `public`. */
  readonly schema?: string;
  /** Pool size; small, because writes are batched. @default 4 */
  readonly poolSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens the ledger database: a `pg` pool for `DATABASE_URL`, embedded PGlite otherwise. Connects lazily. */
export async function openLedgerDb(options: OpenLedgerDbOptions): Promise<LedgerDb> {
  const schema = options.schema ?? "public";
  if (!IDENTIFIER.test(schema))
    throw new Error(`ledger schema "${schema}" must be a lowercase SQL identifier`);
  if (options.databaseUrl) return postgresDb(options.databaseUrl, schema, options.poolSize ?? 4);
  const dir = join(options.dataDir, "ledger");
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  if (schema !== "public")
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  return pgliteDb(db);
}

function postgresDb(url: string, schema: string, max: number): LedgerDb {
  const pool = new Pool({
    connectionString: url,
    max,
    // Fail fast when the database is away: rows go to the spool instead of waiting.
    connectionTimeoutMillis: 2_000,
    query_timeout: 10_000,
    idleTimeoutMillis: 30_000,
    options: schema === "public" ? undefined : `-c search_path=${schema}`,
  });
  // An idle client's connection error must not crash the process; the next query reports it.
  pool.on("error", () => {});
  const query = async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> =>
    (await pool.query(sql, params ? [...params] : undefined)).rows as T[];
  return {
    kind: "postgres",
    query,
    exec: async (sql) => {
      await pool.query(sql);
    },
    withAdvisoryLock: async (lockKey, work) => {
      const client = await pool.connect();
      // A checked-out client has no pool listener: a connection lost under the lock (the
      // maintenance task holds one) emits 'error' here, which would otherwise crash the process.
      // The failed query rejects on its own; the broken client is discarded on release.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      try {
        await client.query("SELECT pg_advisory_lock($1)", [lockKey]);
        try {
          // Under the lock: CREATE SCHEMA IF NOT EXISTS races with itself otherwise.
          if (schema !== "public") await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          return await work({
            query: async <T>(sql: string, params?: readonly unknown[]) =>
              (await client.query(sql, params ? [...params] : undefined)).rows as T[],
            exec: async (sql) => {
              await client.query(sql);
            },
          });
        } finally {
          await client.query("SELECT pg_advisory_unlock($1)", [lockKey]);
        }
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function pgliteDb(db: PGlite): LedgerDb {
  const query = async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> =>
    (await db.query<T>(sql, params ? [...params] : undefined)).rows;
  const exec = async (sql: string) => {
    await db.exec(sql);
  };
  return {
    kind: "pglite",
    query,
    exec,
    // PGlite is one connection in this process; the lock still guards against a second process.
    withAdvisoryLock: async (lockKey, work) => {
      await db.query("SELECT pg_advisory_lock($1)", [lockKey]);
      try {
        return await work({ query, exec });
      } finally {
        await db.query("SELECT pg_advisory_unlock($1)", [lockKey]);
      }
    },
    close: () => db.close(),
  };
}

/** Advisory lock key of the ledger migrations: "ledger" as an int, offset by schema so test schemas do not queue. */
function migrationLockKey(schema: string): number {
  let hash = 0x6c656467;
  for (const char of schema) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/**
 * Applies pending migrations in order under an advisory lock, so replicas
 * starting together migrate once. Returns the versions applied now.
 */
export async function migrate(
  db: LedgerDb,
  options: { schema?: string; logger?: Logger; migrations?: readonly Migration[] } = {},
): Promise<number[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  return db.withAdvisoryLock(migrationLockKey(options.schema ?? "public"), async (locked) => {
    await locked.exec(`CREATE TABLE IF NOT EXISTS ledger_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await locked.query<{ version: number }>("SELECT version FROM ledger_migrations")).map(
        (row) => row.version,
      ),
    );
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      // The change and its record commit together, so a crash never half-applies a version.
      const name = migration.name.replaceAll("'", "''");
      try {
        await locked.exec(
          `BEGIN; ${migration.sql}; INSERT INTO ledger_migrations (version, name) VALUES (${migration.version}, '${name}'); COMMIT;`,
        );
      } catch (error) {
        await locked.exec("ROLLBACK").catch(() => {});
        throw error;
      }
      options.logger?.info({ version: migration.version, name: migration.name }, "ledger migration applied");
      applied.push(migration.version);
    }
    return applied;
  });
}
