import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { Pool } from "pg";
import type { SemanticEntry, SemanticHit, SemanticStore } from "./types";

/** Something that runs SQL: a pg pool or PGlite. */
interface Sql {
  readonly kind: "postgres" | "pglite";
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** One versioned schema change of the semantic cache, recorded in `semantic_cache_migrations`. */
export interface SemanticMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The semantic cache's schema. Vectors of any width share one table; each
 * width gets its own partial HNSW index over `embedding::vector(<dims>)`
 * (pgvector indexes only fixed widths), created by {@link hnswIndexSql} when a
 * store of that width opens. Append new versions; never edit an applied one.
 */
export const SEMANTIC_MIGRATIONS: readonly SemanticMigration[] = [
  {
    version: 1,
    name: "semantic cache entries",
    sql: `
      CREATE TABLE IF NOT EXISTS semantic_cache (
        id          BIGSERIAL PRIMARY KEY,
        scope_key   TEXT NOT NULL,
        dims        INTEGER NOT NULL CHECK (dims > 0),
        embedding   vector NOT NULL,
        entry       JSONB NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL
      );
      CREATE INDEX IF NOT EXISTS semantic_cache_expires_at ON semantic_cache (expires_at);
    `,
  },
];

/** The HNSW cosine index of one vector width. */
export function hnswIndexSql(dimensions: number): string {
  return `CREATE INDEX IF NOT EXISTS semantic_cache_hnsw_${dimensions} ON semantic_cache
    USING hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) WHERE dims = ${dimensions}`;
}

/** The startup error when the database cannot hold vectors. */
export class MissingVectorExtensionError extends Error {
  override readonly name = "MissingVectorExtensionError";
}

/** Options of {@link openPgvectorStore}. */
export interface PgvectorStoreOptions {
  /** `DATABASE_URL`; unset opens PGlite with its pgvector extension under `dataDir`. */
  readonly databaseUrl?: string;
  /** Where PGlite keeps its files (`${dataDir}/semantic-cache`); unset keeps PGlite in memory. */
  readonly dataDir?: string;
  /** Width of the embedding model's vectors (every vector stored and looked up). */
  readonly dimensions: number;
  /** Postgres schema for the table (tests isolate with their own). @default public */
  readonly schema?: string;
  /** HNSW candidates per lookup (pgvector's `hnsw.ef_search`). @default 40 */
  readonly efSearch?: number;
  /** Epoch ms; expiry is decided with it, so tests control time. @default Date.now */
  readonly now?: () => number;
  /** Pool size for Postgres. @default 4 */
  readonly poolSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const MIGRATION_LOCK = 0x73656d63; // "semc"

/**
 * Opens the pgvector semantic store: checks the `vector` extension (a clear
 * startup error when the database lacks it), applies the migrations under an
 * advisory lock and ensures the HNSW index of `dimensions`.
 */
export async function openPgvectorStore(options: PgvectorStoreOptions): Promise<PgvectorStore> {
  const schema = options.schema ?? "public";
  if (!IDENTIFIER.test(schema))
    throw new Error(`semantic cache schema "${schema}" must be a lowercase SQL identifier`);
  if (!Number.isInteger(options.dimensions) || options.dimensions < 1 || options.dimensions > 16_000) {
    throw new Error(`semantic cache dimensions (${options.dimensions}) must be an integer from 1 to 16000`);
  }
  const efSearch = Math.max(1, Math.floor(options.efSearch ?? 40));
  const sql = options.databaseUrl
    ? postgresSql(options.databaseUrl, schema, options.poolSize ?? 4, efSearch)
    : await pgliteSql(options.dataDir, schema);
  try {
    await ensureVectorExtension(sql, options.databaseUrl !== undefined);
    await migrate(sql, schema);
    await sql.exec(hnswIndexSql(options.dimensions));
    // PGlite is one connection: session settings apply to every later query.
    if (sql.kind === "pglite") await configureSearch(sql, efSearch);
  } catch (error) {
    await sql.close().catch(() => {});
    throw error;
  }
  return new PgvectorStore(sql, options.dimensions, options.now ?? Date.now);
}

async function ensureVectorExtension(sql: Sql, external: boolean): Promise<void> {
  const where = external ? "the database at DATABASE_URL" : "PGlite";
  const available = await sql.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'");
  if (available.length === 0) {
    throw new MissingVectorExtensionError(
      `semantic cache (pgvector): ${where} lacks the "vector" extension (pgvector is not installed on the server). ` +
        "Use a Postgres with pgvector (the kit's PgvectorDatabase), or the chroma backend, or turn the semantic cache off.",
    );
  }
  try {
    await sql.exec("CREATE EXTENSION IF NOT EXISTS vector");
  } catch (error) {
    throw new MissingVectorExtensionError(
      `semantic cache (pgvector): ${where} has pgvector available but the "vector" extension could not be created ` +
        `(${(error as Error).message}); run CREATE EXTENSION vector as a superuser once.`,
      { cause: error },
    );
  }
}

async function migrate(sql: Sql, schema: string): Promise<void> {
  await sql.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    if (schema !== "public") await sql.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await sql.exec(`CREATE TABLE IF NOT EXISTS semantic_cache_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const applied = new Set(
      (await sql.query<{ version: number }>("SELECT version FROM semantic_cache_migrations")).map(
        (r) => r.version,
      ),
    );
    for (const migration of SEMANTIC_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await sql.exec(migration.sql);
      await sql.query("INSERT INTO semantic_cache_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
    }
  } finally {
    await sql.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
  }
}

// pgvector filters after the index scan: a scope holding few of the nearest
// vectors could come back empty. From 0.8, iterative scans keep searching
// the index until a row passes the filter (strict order: the first is the nearest).
async function configureSearch(sql: Sql, efSearch: number): Promise<void> {
  const [row] = await sql.query<{ extversion: string }>(
    "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
  );
  await sql.exec(`SET hnsw.ef_search = ${efSearch}`);
  const [major = 0, minor = 0] = (row?.extversion ?? "0.0").split(".").map(Number);
  if (major > 0 || minor >= 8) await sql.exec("SET hnsw.iterative_scan = strict_order");
}

function toVectorLiteral(vector: ArrayLike<number>): string {
  let out = "[";
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i]!;
    if (!Number.isFinite(x)) throw new Error("semantic cache: a vector component is not a finite number");
    out += i === 0 ? String(x) : `,${x}`;
  }
  return `${out}]`;
}

/** The pgvector semantic store (Postgres with pgvector, or PGlite with its pgvector extension). */
export class PgvectorStore implements SemanticStore {
  readonly kind = "pgvector" as const;
  private readonly lookupSql: string;

  constructor(
    private readonly sql: Sql,
    /** Width of every vector. */
    readonly dimensions: number,
    private readonly now: () => number,
  ) {
    const d = dimensions;
    // The ORDER BY expression matches the partial index's, so the planner uses HNSW.
    this.lookupSql = `SELECT entry, 1 - (embedding::vector(${d}) <=> $2::vector(${d})) AS similarity
      FROM semantic_cache
      WHERE dims = ${d} AND scope_key = $1 AND expires_at > $3
      ORDER BY embedding::vector(${d}) <=> $2::vector(${d})
      LIMIT 1`;
  }

  private checkWidth(vector: ArrayLike<number>): void {
    if (vector.length !== this.dimensions) {
      throw new Error(
        `semantic cache: vector has ${vector.length} dimensions, the store holds ${this.dimensions}`,
      );
    }
  }

  async lookup(
    scopeKey: string,
    vector: ArrayLike<number>,
    threshold: number,
  ): Promise<SemanticHit | undefined> {
    this.checkWidth(vector);
    const [row] = await this.sql.query<{ entry: SemanticEntry | string; similarity: number }>(
      this.lookupSql,
      [scopeKey, toVectorLiteral(vector), new Date(this.now())],
    );
    if (!row) return undefined;
    const similarity = Math.min(1, Math.max(0, Number(row.similarity)));
    if (!(similarity >= threshold)) return undefined;
    const entry = typeof row.entry === "string" ? (JSON.parse(row.entry) as SemanticEntry) : row.entry;
    return { entry, similarity };
  }

  async put(
    scopeKey: string,
    vector: ArrayLike<number>,
    entry: SemanticEntry,
    ttlSeconds: number,
  ): Promise<void> {
    this.checkWidth(vector);
    const now = this.now();
    await this.sql.query(
      `INSERT INTO semantic_cache (scope_key, dims, embedding, entry, created_at, expires_at)
       VALUES ($1, $2, $3::vector, $4::jsonb, $5, $6)`,
      [
        scopeKey,
        this.dimensions,
        toVectorLiteral(vector),
        JSON.stringify(entry),
        new Date(now),
        new Date(now + ttlSeconds * 1000),
      ],
    );
  }

  async purgeExpired(): Promise<number> {
    const rows = await this.sql.query<{ id: string }>(
      "DELETE FROM semantic_cache WHERE expires_at <= $1 RETURNING id",
      [new Date(this.now())],
    );
    return rows.length;
  }

  /** Runs raw SQL (benchmarks load entries in bulk and read query plans). */
  query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    return this.sql.query<T>(text, params);
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

function postgresSql(url: string, schema: string, max: number, efSearch: number): Sql {
  const settings = [
    ...(schema === "public" ? [] : [`-c search_path=${schema},public`]),
    // Per connection from the start (a SET would reach only one pooled
    // connection); on pgvector before 0.8 the iterative-scan setting is unknown and ignored.
    `-c hnsw.ef_search=${efSearch}`,
    "-c hnsw.iterative_scan=strict_order",
  ];
  const pool = new Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 2_000,
    query_timeout: 10_000,
    idleTimeoutMillis: 30_000,
    options: settings.join(" "),
  });
  // An idle client's connection error must not crash the process; the next query reports it.
  pool.on("error", () => {});
  return {
    kind: "postgres",
    query: async <T>(text: string, params?: readonly unknown[]) =>
      (await pool.query(text, params ? [...params] : undefined)).rows as T[],
    exec: async (text) => {
      await pool.query(text);
    },
    close: () => pool.end(),
  };
}

async function pgliteSql(dataDir: string | undefined, schema: string): Promise<Sql> {
  let dir: string | undefined;
  if (dataDir) {
    dir = `${dataDir}/semantic-cache`;
    mkdirSync(dir, { recursive: true });
  }
  const db = await PGlite.create(dir, { extensions: { vector } });
  if (schema !== "public")
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public`);
  return {
    kind: "pglite",
    query: async <T>(text: string, params?: readonly unknown[]) =>
      (await db.query<T>(text, params ? [...params] : undefined)).rows,
    exec: async (text) => {
      await db.exec(text);
    },
    close: () => db.close(),
  };
}
