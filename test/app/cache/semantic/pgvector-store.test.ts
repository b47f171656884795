import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MissingVectorExtensionError,
  openPgvectorStore,
  type PgvectorStore,
} from "../../../../app/cache/semantic";
import { DIMS, semanticStoreContract, type TestClock } from "./_contract";

describe("pgvector semantic store on PGlite with pgvector", () => {
  const clock: TestClock = { now: Date.parse("2026-01-01T00:00:00Z") };
  let store: PgvectorStore;
  beforeAll(async () => {
    store = await openPgvectorStore({ dimensions: DIMS, now: () => clock.now });
    // Starting PGlite with the pgvector extension takes a minute or more on the shared, loaded machine.
  }, 180_000);
  afterAll(async () => {
    await store?.close();
  });

  semanticStoreContract(() => store, clock);

  it("is created by its migration, with an HNSW cosine index the lookup uses", async () => {
    expect(await store.query("SELECT version, name FROM semantic_cache_migrations")).toEqual([
      { version: 1, name: "semantic cache entries" },
    ]);
    const [index] = await store.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE indexname = $1",
      [`semantic_cache_hnsw_${DIMS}`],
    );
    expect(index?.indexdef).toContain("USING hnsw");
    expect(index?.indexdef).toContain("vector_cosine_ops");
    await store.query("SET enable_seqscan = off");
    const vector = `[${Array.from({ length: DIMS }, (_, i) => (i === 0 ? 1 : 0)).join(",")}]`;
    const plan = await store.query<{ "QUERY PLAN": string }>(
      `EXPLAIN SELECT entry FROM semantic_cache WHERE dims = ${DIMS} AND scope_key = 'k' AND expires_at > now()
       ORDER BY embedding::vector(${DIMS}) <=> '${vector}'::vector(${DIMS}) LIMIT 1`,
    );
    await store.query("SET enable_seqscan = on");
    expect(plan.map((row) => row["QUERY PLAN"]).join("\n")).toContain(`semantic_cache_hnsw_${DIMS}`);
  });

  it("fails when a vector's width is not the store's", async () => {
    await expect(store.lookup("k", [1, 2, 3], 0.9)).rejects.toThrow(
      `semantic cache: vector has 3 dimensions, the store holds ${DIMS}`,
    );
  });
});

describe("pgvector semantic store on a Postgres without pgvector", () => {
  it("fails at startup saying the database lacks the vector extension", { timeout: 60_000 }, async () => {
    const databaseUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
    const error = await openPgvectorStore({ databaseUrl, dimensions: DIMS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingVectorExtensionError);
    expect((error as Error).message).toBe(
      'semantic cache (pgvector): the database at DATABASE_URL lacks the "vector" extension (pgvector is not installed on the server). ' +
        "Use a Postgres with pgvector (the kit's PgvectorDatabase), or the chroma backend, or turn the semantic cache off.",
    );
  });
});
