import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { Client } from "pg";
import { startOpenAIFake } from "../test/fakes";

// Issue 4's figures: a cache hit served from Redis and from memory at 50
// connections, and proxied throughput (cache off, every request upstream) with
// the ledger on (Postgres rows, budget counter) against the same run with it
// off. The gateway runs in a child process (bench/_ledger-child.ts); the fake
// OpenAI upstream runs here. BENCH_SECONDS sets each run's length (default 5);
// the ledger off/on runs alternate twice to spread machine noise.

const seconds = Number(process.env["BENCH_SECONDS"] ?? 5);
const databaseUrl = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const schema = `bench_ledger_${suffix}`;
const prefix = `bench:${suffix}:`;

interface Row {
  readonly label: string;
  /** The gateway process's CPU time per request (user + system), µs. */
  readonly cpuUs?: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(__dirname, "_ledger-child.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_SCHEMA: schema, BENCH_PREFIX: prefix, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [ready] = (await once(child, "message")) as [{ port: number }];
  return { child, url: `http://127.0.0.1:${ready.port}/v1/chat/completions` };
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.send("exit");
  await once(child, "exit");
}

function cpu(child: ChildProcess): Promise<NodeJS.CpuUsage> {
  return new Promise((resolve) => {
    const onMessage = (reply: unknown) => {
      if (typeof reply === "object" && reply !== null && "cpu" in reply) {
        child.off("message", onMessage);
        resolve((reply as { cpu: NodeJS.CpuUsage }).cpu);
      }
    };
    child.on("message", onMessage);
    child.send("cpu");
  });
}

async function measure(label: string, child: ChildProcess, url: string, body: string): Promise<Row> {
  const before = await cpu(child);
  const row = await run(label, url, body);
  const after = await cpu(child);
  const used = after.user - before.user + (after.system - before.system);
  return { ...row, cpuUs: Math.round(used / Math.max(1, row.total)) };
}

async function run(
  label: string,
  url: string,
  body: string,
  duration = seconds,
): Promise<Row & { total: number }> {
  const result = await autocannon({
    url,
    connections: 50,
    duration,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return {
    label,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

async function main(): Promise<void> {
  const fake = await startOpenAIFake({
    defaultStep: { kind: "answer", text: "The quick brown fox jumps over the lazy dog." },
  });
  const body = (content: string) =>
    JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content }] });
  const rows: Row[] = [];

  for (const store of ["memory", "redis"] as const) {
    const { child, url } = await startChild({
      BENCH_CACHE: store,
      BENCH_LEDGER: "on",
      BENCH_UPSTREAM: fake.origin,
    });
    const hit = body(`cache bench ${store}`);
    await run("warm-up", url, hit, 2);
    rows.push(await measure(`cache hit from ${store}, 50 conn (ledger on)`, child, url, hit));
    await stopChild(child);
  }

  const proxied: Record<"off" | "on", Row[]> = { off: [], on: [] };
  for (const round of [1, 2, 3, 4]) {
    for (const ledger of ["off", "on"] as const) {
      const { child, url } = await startChild({
        BENCH_CACHE: "off",
        BENCH_LEDGER: ledger,
        BENCH_UPSTREAM: fake.origin,
      });
      await run("warm-up", url, body("proxied"), 2);
      const label = `proxied (cache off), ledger ${ledger}, 50 conn, round ${round}`;
      const row = await measure(label, child, url, body("proxied"));
      proxied[ledger].push(row);
      rows.push(row);
      await stopChild(child);
    }
  }

  // Other work on the machine only ever slows a run down, so the best run of
  // each variant is the least disturbed estimate of what it costs.
  const best = (list: Row[]) => Math.max(...list.map((row) => row.rps));
  const change = ((best(proxied.on) - best(proxied.off)) / best(proxied.off)) * 100;
  const leastCpu = (list: Row[]) => Math.min(...list.map((row) => row.cpuUs ?? 0));
  console.log(`node ${process.version}, ${seconds} s per run, gateway logging at info into /dev/null`);
  console.log("| run | req/s | p50 ms | p99 ms | gateway CPU µs/req | non-2xx | errors |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpuUs ?? "-"} | ${r.non2xx} | ${r.errors} |`,
    );
  }
  console.log(
    `\nproxied throughput, ledger on vs off (best of ${proxied.on.length} alternating rounds each): ` +
      `${best(proxied.off)} -> ${best(proxied.on)} req/s (${change >= 0 ? "+" : ""}${change.toFixed(1)} %);` +
      ` least gateway CPU per request ${leastCpu(proxied.off)} -> ${leastCpu(proxied.on)} µs`,
  );

  await fake.close();
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  const written = await sql.query(`SELECT count(*)::int AS n FROM ${schema}.ledger_requests`);
  console.log(`ledger rows written during the bench: ${written.rows[0]?.n}`);
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql.end();
  const redis = new Redis(redisUrl);
  const found = await redis.keys(`${prefix}*`);
  if (found.length > 0) await redis.del(...found);
  redis.disconnect();
}

void main();
