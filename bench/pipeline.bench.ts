import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Client } from "pg";
import { request } from "undici";
import { renderSummary, summarizeProfile } from "./_profile-summary";

// The production pipeline as deployed (issue 17): the bundle dist/app/server.js
// with ENVIRONMENT=production, client keys, rate limits, a fallback provider,
// log level warn, real Redis and Postgres when REDIS_URL / DATABASE_URL are set
// (in-memory limits and embedded PGlite otherwise), driven by autocannon at 50
// connections against an OpenAI-format upstream in its own process. The same
// run measures the floor, Express forwarding to the same upstream with an
// undici Pool, and reports the gateway's figures as a ratio to it: the machine
// is shared, so ratios within one run are the headline, absolute figures are not.
//
//   npm run bench -- pipeline [--variant proxy|cache-hit|stream|batch] [--runs 3] [--seconds 10]
//                             [--connections 50] [--profile] [--bundle path/to/server.js]
//
// CPU is the process' utime+stime from /proc/<pid>/stat over the run divided by
// the requests served; RSS is VmRSS after the run (peak VmHWM alongside).

const ROOT = join(__dirname, "..");
const CLIENT_KEY = `sk-bench-client-${randomBytes(4).toString("hex")}`;
const VARIANTS = ["proxy", "cache-hit", "stream", "batch"] as const;
type Variant = (typeof VARIANTS)[number];

const { values } = parseArgs({
  options: {
    variant: { type: "string", default: "proxy" },
    runs: { type: "string" },
    seconds: { type: "string", default: process.env["BENCH_SECONDS"] ?? "10" },
    connections: { type: "string", default: "50" },
    profile: { type: "boolean", default: false },
    // Another build of the gateway (e.g. a copy of the base dist/ for before/after).
    bundle: { type: "string" },
  },
  strict: true,
});
const SERVER = values.bundle ? resolve(values.bundle) : join(ROOT, "dist/app/server.js");
const variant = values.variant as Variant;
if (!VARIANTS.includes(variant)) {
  console.error(`--variant must be one of ${VARIANTS.join(", ")}; got "${values.variant}"`);
  process.exit(1);
}
const profile = values.profile === true;
const runs = Number(values.runs ?? (profile ? 1 : 3));
const seconds = Number(values.seconds);
const connections = Number(values.connections);
/** When the gateway process was started: the profile's clock starts about then. */
let spawnedAt = 0;
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime+stime of a process in microseconds, from /proc/<pid>/stat. */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5); the slice starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1_000_000;
}

/** VmRSS and VmHWM of a process in MB. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function forkChild(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, file), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [ready] = (await once(child, "message")) as [{ port: number }];
  return { child, port: ready.port };
}

async function waitLive(origin: string, child: ChildProcess): Promise<void> {
  // Embedded PGlite takes a while to start on a busy machine.
  for (let attempt = 0; attempt < 1200; attempt++) {
    if (child.exitCode !== null)
      throw new Error(`the gateway exited with ${child.exitCode} before listening`);
    try {
      const response = await request(`${origin}/health/live`);
      await response.body.dump();
      if (response.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the gateway did not answer /health/live within 120 s");
}

interface Services {
  readonly redis: string;
  readonly postgres: string;
  readonly env: Record<string, string>;
  prepare(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Real Redis and a Postgres schema of its own when the URLs are set; in-memory and PGlite otherwise. */
function services(dataDir: string): Services {
  const env: Record<string, string> = {};
  const redisUrl = process.env["REDIS_URL"];
  const databaseUrl = process.env["DATABASE_URL"];
  const schema = `bench_pipeline_${randomBytes(4).toString("hex")}`;
  if (redisUrl) env["REDIS_URL"] = redisUrl;
  if (databaseUrl) {
    const url = new URL(databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema}`);
    env["DATABASE_URL"] = url.toString();
  }
  const withClient = async (sql: string) => {
    if (!databaseUrl) return;
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    redis: redisUrl ? "Redis (REDIS_URL)" : "in-memory limits and budget (REDIS_URL unset)",
    postgres: databaseUrl ? "Postgres (DATABASE_URL)" : `embedded PGlite in ${dataDir} (DATABASE_URL unset)`,
    env,
    // The gateway migrates inside the schema its search_path names, but does not create it (as a DBA would).
    prepare: () => withClient(`CREATE SCHEMA IF NOT EXISTS ${schema}`),
    cleanup: () => withClient(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}

async function startGateway(
  upstream: string,
  dataDir: string,
  extraEnv: Record<string, string>,
  profileDir: string | undefined,
): Promise<{ child: ChildProcess; origin: string }> {
  const port = await freePort();
  const configFile = join(dataDir, "gateway-config.json");
  // Limits high enough never to refuse the bench, so the limiter runs as in production without answering 429.
  writeFileSync(
    configFile,
    JSON.stringify({ limits: { requestsPerMinute: 100_000_000, tokensPerMinute: 2_000_000_000 } }),
  );
  const execArgv = profileDir
    ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-interval", "250"]
    : [];
  spawnedAt = performance.now();
  const child = spawn(process.execPath, [...execArgv, SERVER], {
    cwd: dataDir,
    env: {
      PATH: process.env["PATH"] ?? "",
      ENVIRONMENT: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      DATA_DIR: dataDir,
      AI_CONFIG_FILE: configFile,
      GATEWAY_API_KEYS: `${CLIENT_KEY},sk-bench-client-other`,
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      OPENAI_API_KEY: "sk-bench-openai",
      OPENAI_BASE_URL: `${upstream}/v1`,
      // The production fallback (claude); never called while the primary answers.
      AI_FALLBACK_PROVIDERS: "claude",
      CLAUDE_API_KEY: "sk-ant-bench",
      CLAUDE_BASE_URL: upstream,
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitLive(origin, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { child, origin };
}

/** The request a variant sends, and its path. */
function workload(
  kind: Variant,
  words = 16,
): { path: string; body: string; headers: Record<string, string> } {
  const messages = [
    { role: "system", content: "You are a concise assistant." },
    { role: "user", content: "Summarize the benefits of connection pooling in two sentences." },
  ];
  // Proxied requests bypass the cache (no-store: neither looked up nor stored), as the issue measures them.
  const bypass = { "cache-control": "no-store" };
  switch (kind) {
    case "proxy":
      return {
        path: "/v1/chat/completions",
        body: JSON.stringify({ model: "gpt-4o", messages, max_tokens: 9 }),
        headers: bypass,
      };
    case "cache-hit":
      return {
        path: "/v1/chat/completions",
        body: JSON.stringify({ model: "gpt-4o", messages, max_tokens: 9 }),
        headers: {},
      };
    case "stream":
      return {
        path: "/v1/chat/completions",
        body: JSON.stringify({ model: "gpt-4o", messages, max_tokens: words, stream: true }),
        headers: bypass,
      };
    case "batch":
      return {
        path: "/v1/batch",
        body: JSON.stringify({
          requests: Array.from({ length: 10 }, (_, index) => ({
            model: "gpt-4o",
            messages: [{ role: "user", content: `Item ${index}: name a prime number.` }],
            max_tokens: 9,
          })),
        }),
        headers: bypass,
      };
  }
}

let batchCounter = 0;

interface Measured {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly cpuUsPerRequest: number;
  readonly rssMb: number;
  readonly peakMb: number;
  readonly non2xx: number;
  readonly errors: number;
}

async function measure(
  origin: string,
  pid: number,
  load: { path: string; body: string; headers: Record<string, string> },
  durationSeconds: number,
): Promise<Measured> {
  const before = cpuMicros(pid);
  const result = await autocannon({
    url: `${origin}${load.path}`,
    connections,
    duration: durationSeconds,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}`, ...load.headers },
    body: load.body,
    // Batch items go through the response cache whatever the request's Cache-Control says,
    // so each batch gets prompts of its own to measure proxied items, not cache hits.
    ...(load.path === "/v1/batch"
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                body: load.body.replaceAll("Item ", `Batch ${++batchCounter} item `),
              }),
            },
          ],
        }
      : {}),
  });
  const cpu = cpuMicros(pid) - before;
  const memory = memoryMb(pid);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    // NaN (printed as such) when nothing completed: CPU per request is then undefined.
    cpuUsPerRequest: result.requests.total === 0 ? Number.NaN : Math.round(cpu / result.requests.total),
    rssMb: Math.round(memory.rss),
    peakMb: Math.round(memory.peak),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Time to the first body byte and to the end of one streamed request, in ms. */
async function streamTimings(
  origin: string,
  body: string,
  count: number,
): Promise<{ ttfb: number[]; total: number[] }> {
  const ttfb: number[] = [];
  const total: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    const response = await request(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${CLIENT_KEY}`,
        "cache-control": "no-store",
      },
      body,
    });
    let first = 0;
    for await (const _chunk of response.body) if (first === 0) first = performance.now();
    ttfb.push(first - started);
    total.push(performance.now() - started);
  }
  return { ttfb, total };
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const spread = (all: readonly number[]) => {
  // Runs where nothing completed (NaN) are left out of the spread.
  const sorted = all.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return "n/a";
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `${round(median)} (${round(sorted[0] ?? 0)}–${round(sorted.at(-1) ?? 0)})`;
};
const round = (value: number) =>
  Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2).replace(/\.?0+$/, "");
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

async function stop(child: ChildProcess, how: "ipc" | "signal"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  if (how === "ipc") child.send("exit");
  else child.kill("SIGTERM");
  await exited;
}

async function main(): Promise<void> {
  if (!existsSync(SERVER)) {
    console.error(`${SERVER} is missing: run npm run build first`);
    process.exit(1);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  const profileDir = profile ? join(dataDir, "profile") : undefined;
  const backing = services(dataDir);
  await backing.prepare();
  const upstream = await forkChild("_pipeline-upstream.ts", {});
  // The forked children exit when this process does (IPC disconnect); the gateway is killed here.
  const spawned: ChildProcess[] = [];
  process.once("exit", () => {
    for (const child of spawned) if (child.exitCode === null) child.kill("SIGKILL");
  });
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
  // Caching stays on (production's default): proxied requests bypass it per request, cache hits use it.
  const gateway = await startGateway(upstreamOrigin, dataDir, backing.env, profileDir).catch(
    async (error) => {
      await stop(upstream.child, "ipc");
      throw error;
    },
  );
  spawned.push(gateway.child);
  const floor = await forkChild("_floor-child.ts", { BENCH_UPSTREAM: upstreamOrigin });
  const floorOrigin = `http://127.0.0.1:${floor.port}`;
  const children = { gateway: gateway.child.pid!, floor: floor.child.pid! };
  try {
    const work = workload(variant);
    // Warm-up: JIT, connection pools, the ledger's first batches; primes the cache for cache-hit.
    for (const origin of [gateway.origin, floorOrigin]) {
      await autocannon({
        url: `${origin}${work.path}`,
        connections: 10,
        // By time, not count: on a busy shared machine 3,000 requests can take minutes.
        duration: 5,
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${CLIENT_KEY}`,
          ...work.headers,
        },
        body: work.body,
      });
    }

    console.log(
      `node ${process.version}, variant ${variant}, ${connections} connections, ${seconds} s per measurement, ${runs} run(s)${profile ? ", gateway under --cpu-prof (its CPU figures include the profiler)" : ""}`,
    );
    console.log(
      `gateway: ${SERVER}, ENVIRONMENT=production, LOG_LEVEL=warn, ${backing.redis}, ${backing.postgres}`,
    );
    console.log(
      `floor: Express + express.json + undici Pool forwarding to the same upstream (bench/_floor-child.ts)\n`,
    );
    const header =
      "| run | loadavg before | target | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB (peak) | non-2xx | errors |";
    const rows: string[] = [header, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"];
    const ratios: Record<string, number[]> = { cpu: [], p99: [], rps: [] };
    const figures: Record<string, number[]> = {
      gwCpu: [],
      gwP50: [],
      gwP99: [],
      gwRps: [],
      gwRss: [],
      flCpu: [],
      flP99: [],
      flRps: [],
    };
    const perChunk: number[] = [];
    const floorPerChunk: number[] = [];
    const measuredFromMs = performance.now() - spawnedAt;
    for (let run = 1; run <= runs; run++) {
      const loadBefore = load();
      const floorRun = await measure(floorOrigin, children.floor, work, seconds);
      const gatewayRun = await measure(gateway.origin, children.gateway, work, seconds);
      for (const [label, m] of [
        ["floor", floorRun],
        ["gateway", gatewayRun],
      ] as const) {
        rows.push(
          `| ${run} | ${loadBefore} | ${label} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.cpuUsPerRequest} | ${m.rssMb} (${m.peakMb}) | ${m.non2xx} | ${m.errors} |`,
        );
      }
      ratios["cpu"]!.push(gatewayRun.cpuUsPerRequest / floorRun.cpuUsPerRequest);
      ratios["p99"]!.push(gatewayRun.p99 / Math.max(1, floorRun.p99));
      ratios["rps"]!.push(gatewayRun.rps / Math.max(1, floorRun.rps));
      figures["gwCpu"]!.push(gatewayRun.cpuUsPerRequest);
      figures["gwP50"]!.push(gatewayRun.p50);
      figures["gwP99"]!.push(gatewayRun.p99);
      figures["gwRps"]!.push(gatewayRun.rps);
      figures["gwRss"]!.push(gatewayRun.rssMb);
      figures["flCpu"]!.push(floorRun.cpuUsPerRequest);
      figures["flP99"]!.push(floorRun.p99);
      figures["flRps"]!.push(floorRun.rps);
      if (variant === "stream") {
        // Per-chunk cost: the same stream with 128 chunks instead of 16; the CPU difference over 112 chunks.
        const long = workload("stream", 128);
        const floorLong = await measure(floorOrigin, children.floor, long, seconds);
        const gatewayLong = await measure(gateway.origin, children.gateway, long, seconds);
        rows.push(
          `| ${run} | ${load()} | floor, 128 chunks | ${floorLong.rps} | ${floorLong.p50} | ${floorLong.p99} | ${floorLong.cpuUsPerRequest} | ${floorLong.rssMb} (${floorLong.peakMb}) | ${floorLong.non2xx} | ${floorLong.errors} |`,
          `| ${run} | ${load()} | gateway, 128 chunks | ${gatewayLong.rps} | ${gatewayLong.p50} | ${gatewayLong.p99} | ${gatewayLong.cpuUsPerRequest} | ${gatewayLong.rssMb} (${gatewayLong.peakMb}) | ${gatewayLong.non2xx} | ${gatewayLong.errors} |`,
        );
        perChunk.push((gatewayLong.cpuUsPerRequest - gatewayRun.cpuUsPerRequest) / 112);
        floorPerChunk.push((floorLong.cpuUsPerRequest - floorRun.cpuUsPerRequest) / 112);
      }
    }
    const measuredToMs = performance.now() - spawnedAt;
    console.log(rows.join("\n"));
    console.log("\nmedian (min–max) over the runs:");
    console.log("| figure | gateway | floor | gateway / floor |");
    console.log("|---|---:|---:|---:|");
    console.log(
      `| CPU µs per request | ${spread(figures["gwCpu"]!)} | ${spread(figures["flCpu"]!)} | ${spread(ratios["cpu"]!)} |`,
    );
    console.log(
      `| p99 ms | ${spread(figures["gwP99"]!)} | ${spread(figures["flP99"]!)} | ${spread(ratios["p99"]!)} |`,
    );
    console.log(
      `| req/s | ${spread(figures["gwRps"]!)} | ${spread(figures["flRps"]!)} | ${spread(ratios["rps"]!)} |`,
    );
    console.log(`| p50 ms (gateway) | ${spread(figures["gwP50"]!)} | | |`);
    console.log(`| RSS MB after the run (gateway) | ${spread(figures["gwRss"]!)} | | |`);
    if (variant === "stream") {
      console.log(`| CPU µs per extra chunk | ${spread(perChunk)} | ${spread(floorPerChunk)} | |`);
      const body = workload("stream").body;
      const gatewayTimes = await streamTimings(gateway.origin, body, 200);
      const floorTimes = await streamTimings(floorOrigin, body, 200);
      console.log(
        `| time to first byte ms, 1 connection, p50 / p99 (200 requests) | ${round(percentile(gatewayTimes.ttfb, 50))} / ${round(percentile(gatewayTimes.ttfb, 99))} | ${round(percentile(floorTimes.ttfb, 50))} / ${round(percentile(floorTimes.ttfb, 99))} | |`,
      );
      console.log(
        `| whole 16-chunk stream ms, 1 connection, p50 / p99 | ${round(percentile(gatewayTimes.total, 50))} / ${round(percentile(gatewayTimes.total, 99))} | ${round(percentile(floorTimes.total, 50))} / ${round(percentile(floorTimes.total, 99))} | |`,
      );
    }
    if (variant === "batch")
      console.log("(batch: one request carries 10 chat items; CPU and latency are per batch)");
    console.log(`\nloadavg after (1, 5, 15 min): ${load()}; ${cpus().length} cores shared with other work`);

    if (profileDir) {
      await stop(gateway.child, "signal");
      const file = readdirSync(profileDir).find((name) => name.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no .cpuprofile written in ${profileDir}`);
      const kept = join(tmpdir(), `pipeline-${variant}-${Date.now()}.cpuprofile`);
      writeFileSync(kept, readFileSync(join(profileDir, file)));
      const window = { fromMs: Math.round(measuredFromMs), toMs: Math.round(measuredToMs) };
      console.log(
        `\nprofile: ${kept}, counted from ${window.fromMs} to ${window.toMs} ms (the measured runs; start-up and warm-up left out); shares are of busy time, µs per request = share × the measured CPU µs/req\n`,
      );
      process.stdout.write(renderSummary(summarizeProfile(kept, window), spreadMedian(figures["gwCpu"]!)));
    }
  } finally {
    await stop(gateway.child, "signal");
    await stop(floor.child, "ipc");
    await stop(upstream.child, "ipc");
    await backing.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function spreadMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
