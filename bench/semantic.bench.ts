import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { SemanticEntry } from "../app/cache/semantic";
import { hnswIndexSql, openPgvectorStore, type PgvectorStore } from "../app/cache/semantic";

// Issue 15's figure: semantic-cache lookup latency with 100,000 cached entries
// on PGlite + pgvector (in process, as a gateway without DATABASE_URL runs),
// through the store's own lookup (SQL, HNSW cosine search, JSON entry). Two
// layouts: every entry in one scope (one tenant, one model, one parameter set),
// and the entries spread over 100 scopes, which makes pgvector's filtered
// (iterative) index scan do the work. Queries are stored vectors plus noise,
// so each should find its own entry: the hit rate doubles as recall.
// BENCH_ENTRIES (default 100000), BENCH_DIMS (default 256), BENCH_LOOKUPS
// (default 1000), BENCH_SCOPES (layouts to run, default "1,100").

const entries = Number(process.env["BENCH_ENTRIES"] ?? 100_000);
const dims = Number(process.env["BENCH_DIMS"] ?? 256);
const lookups = Number(process.env["BENCH_LOOKUPS"] ?? 1000);
const layouts = (process.env["BENCH_SCOPES"] ?? "1,100").split(",").map(Number);

/** Progress on stderr, so the table on stdout stays clean. */
function progress(message: string): void {
  process.stderr.write(
    `  [${new Date().toISOString().slice(11, 19)}] ${message} (load ${loadavg().split(" ")[0]})\n`,
  );
}

const ENTRY: SemanticEntry = {
  completion: {
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "A cached answer of a typical length. ".repeat(8) },
        finish_reason: "stop",
      },
    ],
    usage: { prompt_tokens: 40, completion_tokens: 80, total_tokens: 120 },
  },
  costUsd: 0.0000543,
};

function loadavg(): string {
  return readFileSync("/proc/loadavg", "utf8").trim();
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function fill(store: PgvectorStore, scopes: number): Promise<number> {
  const started = performance.now();
  await store.query("TRUNCATE semantic_cache");
  await store.query(`DROP INDEX IF EXISTS semantic_cache_hnsw_${dims}`);
  const batch = 10_000;
  for (let start = 0; start < entries; start += batch) {
    const end = Math.min(entries, start + batch);
    // Unit vectors generated in SQL (the subquery is correlated on g, so it runs per row).
    progress(`inserting entries ${start}..${end - 1}`);
    await store.query(
      `INSERT INTO semantic_cache (scope_key, dims, embedding, entry, created_at, expires_at)
       SELECT 'scope-' || (g % $1), $2, l2_normalize(
           (SELECT array_agg(random() * 2 - 1)::real[] FROM generate_series(1, $2) WHERE g >= 0)::vector),
         $3::jsonb, now(), now() + interval '1 day'
       FROM generate_series($4::int, $5::int) AS g`,
      [scopes, dims, JSON.stringify(ENTRY), start, end - 1],
    );
  }
  progress("building the HNSW index");
  await store.query("SET maintenance_work_mem = '512MB'");
  await store.query(hnswIndexSql(dims));
  await store.query("ANALYZE semantic_cache");
  return (performance.now() - started) / 1000;
}

async function measure(store: PgvectorStore, scopes: number): Promise<void> {
  const loadSeconds = await fill(store, scopes);
  const samples = await store.query<{ scope_key: string; v: string }>(
    `SELECT scope_key, embedding::text AS v FROM semantic_cache WHERE scope_key = 'scope-0' ORDER BY random() LIMIT $1`,
    [lookups],
  );
  const queries = samples.map((row) => {
    const vector = (JSON.parse(row.v) as number[]).map((x) => x + (Math.random() - 0.5) * 0.01);
    return { scope: row.scope_key, vector };
  });
  progress(`${queries.length} lookups`);
  for (const query of queries.slice(0, 50)) await store.lookup(query.scope, query.vector, 0.95);
  const times: number[] = [];
  let hits = 0;
  for (const query of queries) {
    const started = performance.now();
    const hit = await store.lookup(query.scope, query.vector, 0.95);
    times.push(performance.now() - started);
    if (hit) hits++;
  }
  times.sort((a, b) => a - b);
  const plan = await store.query<{ "QUERY PLAN": string }>(
    `EXPLAIN SELECT 1 FROM semantic_cache WHERE dims = ${dims} AND scope_key = 'scope-0' AND expires_at > now()
     ORDER BY embedding::vector(${dims}) <=> $1::vector(${dims}) LIMIT 1`,
    [`[${queries[0]!.vector.join(",")}]`],
  );
  console.log(
    `| ${entries} entries in ${scopes} scope(s), ${dims} dims | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} | ${(percentile(times, 100)).toFixed(2)} | ${hits}/${queries.length} | ${loadSeconds.toFixed(0)} s |`,
  );
  console.log(`plan: ${plan.map((row) => row["QUERY PLAN"].trim()).join(" / ")}`);
}

/** The floor: a `SELECT 1` round trip to the same PGlite under the same machine load. */
async function baseline(store: PgvectorStore): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const started = performance.now();
    await store.query("SELECT 1");
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `| SELECT 1 (floor) | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} | ${percentile(times, 100).toFixed(2)} | - | - |`,
  );
}

async function main(): Promise<void> {
  console.log(`loadavg before: ${loadavg()}`);
  const store = await openPgvectorStore({ dimensions: dims });
  console.log("| layout | lookup p50 ms | p99 ms | max ms | hits (recall) | load + index build |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  await baseline(store);
  for (const scopes of layouts) await measure(store, scopes);
  await store.close();
  console.log(`loadavg after: ${loadavg()}`);
}

void main();
