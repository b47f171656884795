// npm run loadtest -- --url <gateway> --key <client key> --rate <req/s> --duration <s>
//   [--stream] [--model <model>] [--max-p99-ms N] [--max-error-rate X] [--json]
// The guide's "load testing completed": drives a deployed gateway at a fixed
// arrival rate (an open model: requests start on schedule whether or not
// earlier ones have answered, so a slow gateway shows as latency and errors,
// not as a politely lower rate) with a realistic mix of short, long and
// repeated prompts (streaming some with --stream), prints one progress line a
// second to stderr, and ends with latency and time-to-first-token percentiles,
// errors by status, the x-ai-* header mix and the cost the run caused
// (/v1/usage before and after). Exits 1 when a threshold is missed, 2 on bad
// arguments or when the gateway cannot be reached.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";

const USAGE =
  "usage: npm run loadtest -- --url <gateway> --key <client key> --rate <req/s> --duration <s> [--stream] [--model <model>] [--max-p99-ms N] [--max-error-rate X] [--json]";

/** The parsed command line. */
export interface LoadtestOptions {
  readonly url: string;
  readonly key: string;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly stream: boolean;
  readonly model: string;
  readonly maxP99Ms: number | undefined;
  readonly maxErrorRate: number | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
}

/** What one request ended with. */
interface Outcome {
  /** HTTP status, or 0 when no response came (the error code is in `error`). */
  readonly status: number;
  readonly error?: string;
  readonly latencyMs: number;
  /** Streams only: time to the first SSE frame with content. */
  readonly ttftMs?: number;
  readonly stream: boolean;
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** The headers whose values the report counts. */
const COUNTED_HEADERS = ["x-ai-cache", "x-ai-provider", "x-ai-attempts", "x-ai-degraded"] as const;

const LONG_CONTEXT = [
  "Our service runs behind a load balancer with three replicas, a Redis cache and a Postgres database.",
  "Deployments are blue-green; the idle slot is smoke-tested before traffic moves to it.",
  "Each replica keeps a pool of upstream connections and retries once on a 5xx before falling back.",
  "Budgets are enforced per tenant per day and every call is written to a cost ledger.",
].join(" ");

/**
 * The request body of the `index`-th request: half short questions, two in ten
 * long prompts (about 2,000 characters), three in ten one of two repeated
 * prompts (cache hits once the first has been answered). With `stream`, three
 * in ten stream. Unique prompts carry the run's nonce so no other run's cache answers them.
 */
export function requestBody(index: number, options: { model: string; stream: boolean; nonce: string }) {
  const slot = index % 10;
  let content: string;
  if (slot <= 4) content = `[${options.nonce}-${index}] In one sentence, what is ${index % 97} squared?`;
  else if (slot <= 6)
    content = `[${options.nonce}-${index}] ${LONG_CONTEXT.repeat(5)} Given the setup above, list the two riskiest single points of failure.`;
  else
    content = `[${options.nonce}] Repeated question ${Math.floor(index / 10) % 2}: what does HTTP 429 mean?`;
  const stream = options.stream && (slot === 1 || slot === 5 || slot === 8);
  return {
    model: options.model,
    messages: [{ role: "user", content }],
    max_tokens: slot <= 4 ? 32 : 128,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

/** A percentile of `values` (nearest rank), 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface UsageSnapshot {
  readonly requests: number;
  readonly totalCost: number;
  readonly totalTokens: number;
  readonly cacheHits: number;
}

/** Reads /v1/usage, retrying a 503 (the ledger database not reachable yet) for up to ten seconds. */
async function usage(
  options: LoadtestOptions,
  dispatcher: Agent,
): Promise<UsageSnapshot | { error: string }> {
  let result = await readUsage(options, dispatcher);
  for (let attempt = 0; attempt < 10 && "error" in result && result.error.endsWith(" 503"); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    result = await readUsage(options, dispatcher);
  }
  return result;
}

async function readUsage(
  options: LoadtestOptions,
  dispatcher: Agent,
): Promise<UsageSnapshot | { error: string }> {
  try {
    const response = await request(new URL("/v1/usage", options.url), {
      dispatcher,
      headers: { authorization: `Bearer ${options.key}` },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return { error: `GET /v1/usage answered ${response.statusCode}` };
    }
    const body = (await response.body.json()) as Partial<UsageSnapshot>;
    return {
      requests: Number(body.requests ?? 0),
      totalCost: Number(body.totalCost ?? 0),
      totalTokens: Number(body.totalTokens ?? 0),
      cacheHits: Number(body.cacheHits ?? 0),
    };
  } catch (error) {
    return { error: `GET /v1/usage failed: ${(error as Error).message}` };
  }
}

async function send(
  index: number,
  options: LoadtestOptions,
  nonce: string,
  dispatcher: Agent,
): Promise<Outcome> {
  const body = requestBody(index, { model: options.model, stream: options.stream, nonce });
  const stream = body.stream === true;
  const started = performance.now();
  try {
    const response = await request(new URL("/v1/chat/completions", options.url), {
      dispatcher,
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${options.key}`,
        "x-request-id": `loadtest-${nonce}-${index}`,
      },
      body: JSON.stringify(body),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const headers: Record<string, string | undefined> = {};
    for (const name of COUNTED_HEADERS) {
      const value = response.headers[name];
      headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
    let ttftMs: number | undefined;
    if (stream && response.statusCode === 200) {
      // The first frame whose delta carries text; the opening role-only frame does not count.
      let text = "";
      for await (const chunk of response.body) {
        if (ttftMs === undefined) {
          text += (chunk as Buffer).toString("utf8");
          if (/"content":"[^"]/.test(text)) ttftMs = performance.now() - started;
          else if (text.length > 65_536) text = text.slice(-1024);
        }
      }
    } else {
      await response.body.dump({ limit: Number.MAX_SAFE_INTEGER });
    }
    return {
      status: response.statusCode,
      latencyMs: performance.now() - started,
      stream,
      headers,
      ...(ttftMs !== undefined ? { ttftMs } : {}),
    };
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).name;
    return { status: 0, error: code, latencyMs: performance.now() - started, stream, headers: {} };
  }
}

/** The report of a run (printed, or as JSON with --json). */
export interface LoadtestReport {
  readonly url: string;
  readonly model: string;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly sent: number;
  readonly completed: number;
  readonly ok: number;
  readonly streamed: number;
  readonly errorRate: number;
  /** Requests by HTTP status; connection failures as `error:<code>`. */
  readonly byStatus: Record<string, number>;
  readonly latencyMs: { p50: number; p95: number; p99: number; max: number };
  readonly ttftMs: { count: number; p50: number; p95: number; p99: number };
  /** The most a request started after its scheduled time (the client keeping up with the rate). */
  readonly maxScheduleLagMs: number;
  /** Each x-ai-* header's values and how many responses carried them (`(none)`: absent). */
  readonly headers: Record<string, Record<string, number>>;
  /** Responses answered after more than one attempt (a retry or a fallback). */
  readonly retriedOrFellBack: number;
  readonly usage:
    | {
        readonly requests: number;
        readonly costUsd: number;
        readonly tokens: number;
        readonly cacheHits: number;
        /** False when the ledger had not counted every answered request within the wait. */
        readonly settled: boolean;
      }
    | { readonly error: string };
  readonly thresholds: ReadonlyArray<{ name: string; limit: number; actual: number; ok: boolean }>;
  readonly passed: boolean;
}

/** Runs the load test and builds the report. */
export async function runLoadtest(options: LoadtestOptions): Promise<LoadtestReport> {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: null, pipelining: 1 });
  const nonce = randomBytes(4).toString("hex");
  const before = await usage(options, dispatcher);
  const total = Math.round(options.rate * options.durationSeconds);
  const intervalMs = 1000 / options.rate;
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  let maxLag = 0;
  const started = performance.now();
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const latencies = outcomes.map((outcome) => outcome.latencyMs);
    const failed = outcomes.filter((outcome) => outcome.status < 200 || outcome.status >= 300).length;
    process.stderr.write(
      `[${elapsed.toFixed(0).padStart(4)} s] sent ${outcomes.length + pending.size}/${total}  answered ${outcomes.length}  in flight ${pending.size}  errors ${failed}  p99 so far ${percentile(latencies, 99).toFixed(0)} ms\n`,
    );
  }, 1000);
  try {
    for (let index = 0; index < total; index++) {
      const due = started + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      maxLag = Math.max(maxLag, performance.now() - due);
      const task: Promise<void> = send(index, options, nonce, dispatcher).then((outcome) => {
        outcomes.push(outcome);
        pending.delete(task);
      });
      pending.add(task);
    }
    await Promise.all(pending);
  } finally {
    clearInterval(progress);
  }

  const ok = outcomes.filter((outcome) => outcome.status >= 200 && outcome.status < 300);
  let after = await usage(options, dispatcher);
  // The ledger writes in batches: wait (up to 15 s) until it has counted every answered request.
  let settled = false;
  for (let attempt = 0; attempt < 30 && !("error" in before) && !("error" in after); attempt++) {
    if (after.requests - before.requests >= ok.length) {
      settled = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    after = await usage(options, dispatcher);
  }
  await dispatcher.close();

  const byStatus: Record<string, number> = {};
  const headers: Record<string, Record<string, number>> = {};
  for (const name of COUNTED_HEADERS) headers[name] = {};
  for (const outcome of outcomes) {
    const key = outcome.status === 0 ? `error:${outcome.error ?? "unknown"}` : String(outcome.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    if (outcome.status === 0) continue;
    for (const name of COUNTED_HEADERS) {
      const value = outcome.headers[name] ?? "(none)";
      headers[name]![value] = (headers[name]![value] ?? 0) + 1;
    }
  }
  const latencies = outcomes.map((outcome) => outcome.latencyMs);
  const ttfts = outcomes.flatMap((outcome) => (outcome.ttftMs === undefined ? [] : [outcome.ttftMs]));
  const errorRate = outcomes.length === 0 ? 0 : (outcomes.length - ok.length) / outcomes.length;
  const p99 = percentile(latencies, 99);
  const thresholds: Array<{ name: string; limit: number; actual: number; ok: boolean }> = [];
  if (options.maxP99Ms !== undefined)
    thresholds.push({
      name: "p99 latency ms",
      limit: options.maxP99Ms,
      actual: p99,
      ok: p99 <= options.maxP99Ms,
    });
  if (options.maxErrorRate !== undefined)
    thresholds.push({
      name: "error rate",
      limit: options.maxErrorRate,
      actual: errorRate,
      ok: errorRate <= options.maxErrorRate,
    });
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    url: options.url,
    model: options.model,
    rate: options.rate,
    durationSeconds: options.durationSeconds,
    sent: total,
    completed: outcomes.length,
    ok: ok.length,
    streamed: outcomes.filter((outcome) => outcome.stream).length,
    errorRate,
    byStatus,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(p99),
      max: round(Math.max(0, ...latencies)),
    },
    ttftMs: {
      count: ttfts.length,
      p50: round(percentile(ttfts, 50)),
      p95: round(percentile(ttfts, 95)),
      p99: round(percentile(ttfts, 99)),
    },
    maxScheduleLagMs: round(maxLag),
    headers,
    retriedOrFellBack: outcomes.filter((outcome) => Number(outcome.headers["x-ai-attempts"] ?? 1) > 1).length,
    usage:
      "error" in before
        ? before
        : "error" in after
          ? after
          : {
              requests: after.requests - before.requests,
              // Rounded to the ledger's pico-dollar precision so float noise never shows.
              costUsd: Math.round((after.totalCost - before.totalCost) * 1e12) / 1e12,
              tokens: after.totalTokens - before.totalTokens,
              cacheHits: after.cacheHits - before.cacheHits,
              settled,
            },
    thresholds,
    passed: thresholds.every((threshold) => threshold.ok),
  };
}

/** The report as text. */
export function renderReport(report: LoadtestReport): string {
  const mix = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([value, count]) => `${value} ${count}`)
      .join(", ") || "-";
  const lines = [
    `load test of ${report.url}: ${report.rate} req/s for ${report.durationSeconds} s, model ${report.model}`,
    `requests: ${report.sent} sent, ${report.completed} answered, ${report.ok} 2xx, ${report.streamed} streamed; error rate ${(report.errorRate * 100).toFixed(2)} %`,
    `by status: ${mix(report.byStatus)}`,
    `latency ms: p50 ${report.latencyMs.p50}, p95 ${report.latencyMs.p95}, p99 ${report.latencyMs.p99}, max ${report.latencyMs.max}`,
    report.ttftMs.count > 0
      ? `time to first token ms (${report.ttftMs.count} streams): p50 ${report.ttftMs.p50}, p95 ${report.ttftMs.p95}, p99 ${report.ttftMs.p99}`
      : "time to first token: no streamed answers (add --stream)",
    ...Object.entries(report.headers).map(([name, counts]) => `${name}: ${mix(counts)}`),
    `answered after a retry or fallback (x-ai-attempts > 1): ${report.retriedOrFellBack}`,
    "error" in report.usage
      ? `cost: unknown (${report.usage.error})`
      : `cost: ${report.usage.costUsd.toFixed(6)} USD for ${report.usage.requests} ledger rows (${report.usage.cacheHits} cache hits, ${report.usage.tokens} tokens)${report.usage.settled ? "" : "; the ledger had not counted every answer yet, so this may be low"}`,
    `client schedule lag: at most ${report.maxScheduleLagMs} ms${report.maxScheduleLagMs > 100 ? " (the client could not keep the rate; run it from a bigger machine or lower --rate)" : ""}`,
    ...report.thresholds.map(
      (threshold) =>
        `${threshold.ok ? "PASS" : "FAIL"} ${threshold.name}: ${threshold.name === "error rate" ? threshold.actual.toFixed(4) : threshold.actual} (limit ${threshold.limit})`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** Parses the command line; throws an Error naming the problem. */
export function parseOptions(argv: readonly string[]): LoadtestOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: "string" },
      key: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      stream: { type: "boolean", default: false },
      model: { type: "string", default: "gpt-4o-mini" },
      "max-p99-ms": { type: "string" },
      "max-error-rate": { type: "string" },
      "timeout-ms": { type: "string", default: "60000" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const positive = (name: string, raw: string | undefined): number => {
    const value = Number(raw);
    if (raw === undefined) throw new Error(`--${name} is required`);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${name} must be a positive number; got "${raw}"`);
    return value;
  };
  if (!values.url)
    throw new Error("--url is required (the gateway's base URL, e.g. https://ai.staging.example.com)");
  if (!URL.canParse(values.url)) throw new Error(`--url is not a URL: "${values.url}"`);
  if (!values.key) throw new Error("--key is required (a client key from GATEWAY_API_KEYS)");
  const maxErrorRate = values["max-error-rate"] === undefined ? undefined : Number(values["max-error-rate"]);
  if (maxErrorRate !== undefined && !(maxErrorRate >= 0 && maxErrorRate <= 1)) {
    throw new Error(`--max-error-rate must be a fraction from 0 to 1; got "${values["max-error-rate"]}"`);
  }
  return {
    url: values.url,
    key: values.key,
    rate: positive("rate", values.rate),
    durationSeconds: positive("duration", values.duration),
    stream: values.stream === true,
    model: values.model ?? "gpt-4o-mini",
    maxP99Ms: values["max-p99-ms"] === undefined ? undefined : positive("max-p99-ms", values["max-p99-ms"]),
    maxErrorRate,
    json: values.json === true,
    timeoutMs: positive("timeout-ms", values["timeout-ms"]),
  };
}

async function main(): Promise<number> {
  let options: LoadtestOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const report = await runLoadtest(options);
  if (report.completed > 0 && Object.keys(report.byStatus).every((status) => status.startsWith("error:"))) {
    console.error(`loadtest: no request reached ${options.url} (${Object.keys(report.byStatus).join(", ")})`);
    if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    return 2;
  }
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : renderReport(report));
  for (const threshold of report.thresholds.filter((entry) => !entry.ok)) {
    console.error(`loadtest: threshold missed: ${threshold.name} ${threshold.actual} > ${threshold.limit}`);
  }
  return report.passed ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`loadtest failed: ${(error as Error).message}`);
      process.exitCode = 2;
    },
  );
}
