import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// Summarizes a V8 CPU profile (`node --cpu-prof`) of the bundled gateway into
// self time by pipeline step. The bundle is one file, so each sampled frame is
// mapped back to its source file through dist/app/server.js.map, then to a
// category by path (app/security/auth.ts: auth hash, node_modules/pino:
// logging, ...). Node's own modules and native frames take the category of the
// nearest caller that has one (a hash called by the cache key is the cache
// key's; a socket write under pino is logging's), else "express/node internals".
//
//   tsx bench/_profile-summary.ts <file.cpuprofile> [--cpu-us-per-request N] [--from-ms N] [--to-ms N]
// (--from-ms / --to-ms: the part of the profile to count, in ms from its start).

/** The categories of the table, in the order they are printed. */
export const CATEGORIES = [
  "parse and validation",
  "auth hash",
  "rate limit",
  "budget",
  "budget: token estimate (gpt-tokenizer)",
  "cache key",
  "routing and policies",
  "adapter (provider + undici)",
  "SSE",
  "metrics",
  "logging",
  "ledger",
  "Redis client (ioredis, bullmq)",
  "other gateway code (routes, server, middleware)",
  "express/node internals",
  "garbage collector",
  "V8 (program)",
] as const;

/** One of {@link CATEGORIES}. */
export type Category = (typeof CATEGORIES)[number];

const INTERNALS: Category = "express/node internals";
const OTHER_APP: Category = "other gateway code (routes, server, middleware)";

/** Path rules, first match wins; paths are relative to the repository (`app/...`, `node_modules/...`). */
const RULES: ReadonlyArray<readonly [RegExp, Category]> = [
  [
    /^app\/(observability\/logger|gateway\/log-hooks)|^node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|on-exit-leak-free|atomic-sleep|real-require)\//,
    "logging",
  ],
  [/^app\/observability\/(metric|metrics)|^node_modules\/(prom-client|tdigest|bintrees)\//, "metrics"],
  [/^app\/security\/auth\.ts/, "auth hash"],
  [/^app\/security\/rate-limit|^node_modules\/rate-limiter-flexible\//, "rate limit"],
  [/^app\/budget\/estimate|^node_modules\/gpt-tokenizer\//, "budget: token estimate (gpt-tokenizer)"],
  [/^app\/budget\//, "budget"],
  [/^app\/.*(sse|stream)[^/]*\.ts$|^node_modules\/eventsource-parser\//, "SSE"],
  [/^app\/cache\/|^node_modules\/lru-cache\//, "cache key"],
  [
    /^app\/ledger\/|^node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-connection-string|pgpass|postgres-[a-z]+|@electric-sql\/[^/]+)\//,
    "ledger",
  ],
  [
    /^node_modules\/(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback|bullmq)\//,
    "Redis client (ioredis, bullmq)",
  ],
  [/^app\/(gateway|resilience)\/|^node_modules\/cockatiel\//, "routing and policies"],
  [/^app\/providers\/|^node_modules\/undici\/|^node:internal\/deps\/undici/, "adapter (provider + undici)"],
  [
    /^app\/(chat|security\/(request-checks|limits))|^node_modules\/(zod|body-parser|raw-body|iconv-lite|content-type|bytes|type-is|media-typer|mime-types|mime-db)\//,
    "parse and validation",
  ],
  [/^app\//, OTHER_APP],
  [
    /^node_modules\/(express|router|helmet|finalhandler|send|on-finished|on-headers|path-to-regexp|qs|accepts|negotiator|vary|etag|fresh|parseurl|statuses|http-errors|depd|debug|cookie|merge-descriptors|encodeurl|escape-html|setprototypeof|side-channel[^/]*|call-bound|get-intrinsic|es-[a-z-]+|dunder-proto|gopd|has-symbols|hasown|math-intrinsics|function-bind|object-inspect)\//,
    INTERNALS,
  ],
];

/** A frame's category, or undefined when it takes its caller's (Node internals, natives, unknown packages). */
function categoryOfPath(path: string): Category | undefined {
  for (const [pattern, category] of RULES) if (pattern.test(path)) return category;
  return undefined;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One line of the summary. */
export interface SummaryRow {
  readonly category: Category;
  readonly selfMs: number;
  /** Share of the busy (non-idle) samples' time, 0..1. */
  readonly share: number;
  /** The category's heaviest source files (or native functions), heaviest first. */
  readonly heaviest: readonly string[];
}

/** The summary of one profile. */
export interface ProfileSummary {
  readonly rows: readonly SummaryRow[];
  readonly busyMs: number;
  readonly idleMs: number;
  /** The Redis client's time by the code that issued the commands. */
  readonly redisByCaller: ReadonlyArray<{ readonly caller: string; readonly selfMs: number }>;
  /** The heaviest source files by self time (for reading the table). */
  readonly topFiles: ReadonlyArray<{ readonly file: string; readonly selfMs: number }>;
}

/** Repository-relative path of a source-map source (`../../app/x.ts` → `app/x.ts`). */
function normalize(source: string): string {
  const path = source.startsWith("file://") ? fileURLToPath(source) : source;
  const nodeModules = path.lastIndexOf("node_modules/");
  if (nodeModules !== -1) return path.slice(nodeModules);
  const app = path.lastIndexOf("app/");
  return app !== -1 ? path.slice(app) : path;
}

/** Which part of the profile to count, in ms from its start (start-up and warm-up left out). */
export interface ProfileWindow {
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** Reads a CPU profile and sums self time per category over `window`. */
export function summarizeProfile(profilePath: string, window: ProfileWindow = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile;
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (url: string): SourceMap | undefined => {
    if (!maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      maps.set(url, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, "utf8"))) : undefined);
    }
    return maps.get(url);
  };
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // The source file of a frame: through the source map for bundled code, the URL for Node's own modules.
  const fileOf = new Map<number, string | undefined>();
  const sourceFile = (node: ProfileNode): string | undefined => {
    if (fileOf.has(node.id)) return fileOf.get(node.id);
    const { url, lineNumber, columnNumber } = node.callFrame;
    let file: string | undefined;
    if (url.startsWith("file://")) {
      const entry = mapFor(url)?.findEntry(lineNumber, columnNumber);
      // Unmapped bundle frames are esbuild's module wrappers; they take their caller's category.
      file =
        entry && "originalSource" in entry && entry.originalSource
          ? normalize(entry.originalSource)
          : undefined;
    } else if (url.startsWith("node:")) {
      file = url;
    }
    fileOf.set(node.id, file);
    return file;
  };
  const categoryOf = new Map<number, Category>();
  const resolve = (id: number): Category => {
    const known = categoryOf.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let category: Category | undefined;
    if (name === "(garbage collector)") category = "garbage collector";
    else if (name === "(program)") category = "V8 (program)";
    else {
      const file = sourceFile(node);
      category = file ? categoryOfPath(file) : undefined;
      if (!category) {
        const up = parent.get(id);
        category =
          up === undefined || byId.get(up)!.callFrame.functionName === "(root)" ? INTERNALS : resolve(up);
        // Node's HTTP and stream work under the route's own code is the server's, not a pipeline step's.
        if (category === OTHER_APP && !file?.startsWith("app/")) category = INTERNALS;
      }
    }
    categoryOf.set(id, category);
    return category;
  };

  // Who issued the Redis work: the nearest caller in the gateway's code or in a Redis-using library.
  const REDIS: Category = "Redis client (ioredis, bullmq)";
  const redisCaller = (id: number): string => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const file = sourceFile(byId.get(up)!);
      if (file?.startsWith("app/") || file?.startsWith("node_modules/rate-limiter-flexible/")) return file;
      if (file?.startsWith("node_modules/bullmq/")) return "bullmq (job queue)";
    }
    return "(no caller on the stack: replies and socket events)";
  };
  const redisUs = new Map<string, number>();
  const selfUs = new Map<Category, number>();
  const fileUs = new Map<string, number>();
  const categoryFiles = new Map<Category, Map<string, number>>();
  let idleUs = 0;
  let busyUs = 0;
  const fromUs = (window.fromMs ?? 0) * 1000;
  const toUs = (window.toMs ?? Number.POSITIVE_INFINITY) * 1000;
  let at = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (at < fromUs || at > toUs) continue;
    // A sample's time is the delta to the next sample (the last one gets none).
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const id = profile.samples[index]!;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") {
      idleUs += delta;
      continue;
    }
    busyUs += delta;
    const category = resolve(id);
    selfUs.set(category, (selfUs.get(category) ?? 0) + delta);
    const file = sourceFile(node) ?? (node.callFrame.functionName || "(anonymous native)");
    fileUs.set(file, (fileUs.get(file) ?? 0) + delta);
    if (category === REDIS) {
      const caller = redisCaller(id).replace(/^node_modules\//, "");
      redisUs.set(caller, (redisUs.get(caller) ?? 0) + delta);
    }
    const files = categoryFiles.get(category) ?? new Map<string, number>();
    files.set(file, (files.get(file) ?? 0) + delta);
    categoryFiles.set(category, files);
  }
  return {
    rows: CATEGORIES.map((category) => ({
      category,
      selfMs: (selfUs.get(category) ?? 0) / 1000,
      share: busyUs === 0 ? 0 : (selfUs.get(category) ?? 0) / busyUs,
      heaviest: [...(categoryFiles.get(category) ?? new Map<string, number>()).entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([file]) => file.replace(/^node_modules\//, "")),
    })),
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    redisByCaller: [...redisUs.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([caller, us]) => ({ caller, selfMs: us / 1000 })),
    topFiles: [...fileUs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([file, us]) => ({ file, selfMs: us / 1000 })),
  };
}

/** The summary as Markdown: a category table (with µs per request when the measured CPU is given) and the top files. */
export function renderSummary(summary: ProfileSummary, cpuUsPerRequest?: number): string {
  const lines = [
    `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms in the profile`,
    "",
    cpuUsPerRequest === undefined
      ? "| category | self ms | share | heaviest files |"
      : "| category | self ms | share | ≈ µs per request | heaviest files |",
    cpuUsPerRequest === undefined ? "|---|---:|---:|---|" : "|---|---:|---:|---:|---|",
  ];
  for (const row of summary.rows) {
    const cells = [row.category, row.selfMs.toFixed(0), `${(row.share * 100).toFixed(1)} %`];
    if (cpuUsPerRequest !== undefined) cells.push((row.share * cpuUsPerRequest).toFixed(0));
    cells.push(row.heaviest.join(", "));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push("", "| Redis client time by caller | self ms |", "|---|---:|");
  for (const entry of summary.redisByCaller) lines.push(`| ${entry.caller} | ${entry.selfMs.toFixed(0)} |`);
  lines.push("", "| heaviest source files | self ms |", "|---|---:|");
  for (const file of summary.topFiles) lines.push(`| ${file.file} | ${file.selfMs.toFixed(0)} |`);
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      "cpu-us-per-request": { type: "string" },
      "from-ms": { type: "string" },
      "to-ms": { type: "string" },
    },
  });
  const path = positionals[0];
  if (!path) {
    console.error(
      "usage: tsx bench/_profile-summary.ts <file.cpuprofile> [--cpu-us-per-request N] [--from-ms N] [--to-ms N]",
    );
    process.exit(1);
  }
  const number = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));
  const window = { fromMs: number(values["from-ms"]), toMs: number(values["to-ms"]) };
  process.stdout.write(renderSummary(summarizeProfile(path, window), number(values["cpu-us-per-request"])));
}
