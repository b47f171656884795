import type { ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startOpenAIFake } from "../fakes";
import { type BuiltGateway, ensureBuilt, startBuiltGateway } from "../helpers/built";
import { seedLedger } from "../helpers/data-dir";
import { tempDir } from "../helpers/real-services";

// Issue 14 "must show": a property test over the HTTP surface of the built gateway. Whatever a client
// sends (arbitrary JSON, every Unicode class, deep nesting, odd headers, paths and methods), the answer
// is never a 5xx, the process stays alive and its memory stays bounded. Fixed seed, bounded runs and a
// time budget per property, so it finishes well under a minute on a loaded two-core machine.

const SEED = 1_414;
/** Per property: at most this many requests, and no new one after the time budget. */
const RUNS = 150;
const BUDGET_MS = 8_000;
/** A request that gets no answer in this long counts as a hang. */
const REQUEST_TIMEOUT_MS = 20_000;
/** Half the gateway pod's default memory limit (2Gi, constructs/kubernetes/ai-gateway-service.ts). */
const RSS_LIMIT_BYTES = 1024 * 1024 * 1024;

let openai: FakeUpstream;
let gateway: BuiltGateway;
let child: ChildProcess;
const data = tempDir();

beforeAll(async () => {
  ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  openai = await startOpenAIFake();
  gateway = await startBuiltGateway({
    DATA_DIR: seedLedger(data.dir),
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    AI_TIMEOUT_SECONDS: "10",
    OPENAI_API_KEY: "sk-test-property",
    OPENAI_BASE_URL: `${openai.origin}/v1`,
  });
  child = gateway.child;
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await openai?.close();
  data.cleanup();
});

/** One HTTP request as the property generates it. */
interface Probe {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

/** Sends a probe on its own connection; resolves with the status, or the error code when none came. */
function send(probe: Probe): Promise<{ status: number | string; body: string }> {
  return new Promise((resolve) => {
    const url = new URL(gateway.url);
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest({
        host: url.hostname,
        port: url.port,
        method: probe.method,
        path: probe.path,
        // Framed as HTTP requires: Node's client sends a GET's body without a length, which is not a body.
        headers: probe.body
          ? { ...probe.headers, "content-length": String(probe.body.length) }
          : probe.headers,
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      // The client library refused to send it (a header or path it deems invalid): nothing to test.
      resolve({ status: `client refused: ${(error as Error).message}`, body: "" });
      return;
    }
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (text.length < 4_000) text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ status: error.code ?? "aborted", body: text }),
      );
    });
    req.on("timeout", () => req.destroy(new Error("no answer: the request hung")));
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ status: error.code ?? error.message, body: "" }),
    );
    req.end(probe.body);
  });
}

// ---- Arbitraries -----------------------------------------------------------------------------

/** Strings from every Unicode class: any code point (lone surrogates, NUL, controls, RTL marks, astral). */
const anyString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.string({ unit: "grapheme", maxLength: 64 }),
  fc.constantFrom(
    "",
    "\u0000",
    "\uD800",
    "\uDFFF",
    "a\uDC00b",
    "\uFEFF",
    "\u202E\u2066",
    "\u200B\u200D",
    "👩‍👩‍👧‍👦",
    "𝕏".repeat(100),
    "\r\n\r\n",
    "%ff%00",
    "../../etc/passwd",
    "x".repeat(300),
  ),
);
const anyJson = fc.jsonValue({ stringUnit: "binary", maxDepth: 6 });

/** JSON text nested `depth` deep, built as text so the test's own JSON.stringify does not recurse. */
const deepJson = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1_000, max: 120_000 })), fc.boolean())
  .map(([depth, objects]) =>
    objects ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}1${"]".repeat(depth)}`,
  );
/** Markers replaced by deep nesting once the surrounding value is serialized: any value, and an object. */
const DEEP = "\u0000__deep__\u0000";
const DEEP_OBJECT = "\u0000__deep_object__\u0000";
/** Object nesting `depth` deep: where the schema wants an object (tool parameters, JSON schemas). */
const deepObject = fc
  .oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1_000, max: 120_000 }))
  .map((depth) => `{"type":"object","p":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`);

const role = fc.oneof(fc.constantFrom("system", "user", "assistant", "tool", "developer"), anyString);
const content = fc.oneof(
  anyString,
  fc.array(
    fc.oneof(
      fc.record({ type: fc.constant("text"), text: anyString }),
      fc.record({ type: anyString, text: anyJson }),
      fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: anyString }) }),
    ),
    { maxLength: 3 },
  ),
  anyJson,
  fc.constant(DEEP),
);
const message = fc.record(
  { role, content, name: anyString, tool_call_id: anyJson },
  { requiredKeys: ["role", "content"] },
);
const chatRequest = fc.record(
  {
    model: fc.oneof(fc.constantFrom("gpt-4o", "openai/gpt-4o", "claude/x", "nope/nope"), anyString, anyJson),
    messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 4 }), anyJson),
    stream: fc.oneof(fc.boolean(), anyJson),
    max_tokens: fc.oneof(fc.integer({ min: -5, max: 5_000_000 }), anyJson),
    temperature: fc.oneof(fc.double(), anyJson),
    n: fc.oneof(fc.integer({ min: -2, max: 20 }), anyJson),
    stop: anyJson,
    user: anyString,
    tools: fc.oneof(
      fc.array(
        fc.record({
          type: fc.constant("function"),
          function: fc.record({ name: anyString, parameters: fc.oneof(anyJson, fc.constant(DEEP)) }),
        }),
        { maxLength: 2 },
      ),
      anyJson,
    ),
    response_format: fc.oneof(
      fc.constant({ type: "json_object" }),
      fc.record({
        type: fc.constant("json_schema"),
        json_schema: fc.record({ name: anyString, schema: fc.oneof(anyJson, fc.constant(DEEP)) }),
      }),
      anyJson,
    ),
    extra: fc.oneof(anyJson, fc.constant(DEEP)),
  },
  { requiredKeys: ["model", "messages"] },
);

/** Serializes `value`, splicing deep nesting in where the marker is. */
function withDeep(value: unknown, [deep, object]: readonly [string, string]): string {
  return JSON.stringify(value)
    .replaceAll(JSON.stringify(DEEP), deep)
    .replaceAll(JSON.stringify(DEEP_OBJECT), object);
}
const deepPair = fc.tuple(deepJson, deepObject);

/**
 * Chat requests valid but for one odd part, so they get past validation into the pipeline
 * (cache key, routing, the upstream call): Unicode text, deep tool parameters and schemas, extra fields.
 */
const wellFormedChat = fc.record(
  {
    model: fc.constantFrom("gpt-4o", "openai/gpt-4o"),
    messages: fc.array(
      fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: anyString }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 1, max: 4_096 }),
    tools: fc.constant([{ type: "function", function: { name: "lookup", parameters: DEEP_OBJECT } }]),
    response_format: fc.constantFrom(
      { type: "json_object" },
      { type: "json_schema", json_schema: { name: "answer", schema: DEEP_OBJECT } },
    ),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), anyString, { maxKeys: 3 }),
    user: anyString,
  },
  { requiredKeys: ["model", "messages"] },
);
const anyChat = fc.oneof({ weight: 3, arbitrary: wellFormedChat }, { weight: 2, arbitrary: chatRequest });

/** A body as bytes: serialized JSON, plus raw non-JSON text and bytes (invalid UTF-8 included). */
function bodyOf(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(valid, deepPair).map(([value, deep]) => Buffer.from(withDeep(value, deep))),
    },
    { weight: 1, arbitrary: deepJson.map((deep) => Buffer.from(deep)) },
    { weight: 1, arbitrary: deepObject.map((deep) => Buffer.from(deep)) },
    { weight: 1, arbitrary: anyJson.map((value) => Buffer.from(JSON.stringify(value) ?? "null")) },
    { weight: 1, arbitrary: anyString.map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)) },
  );
}

/** Header values as a client can send them (HTAB, visible ASCII and obs-text bytes), odd ones included. */
const headerValue = fc.oneof(
  fc.string({
    unit: fc.constantFrom(..."\t !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\u0080\u00ff"),
    maxLength: 80,
  }),
  fc.constantFrom("", " ", "x".repeat(4_000), "\u00e9t\u00e9"),
);
const oddHeaders = fc.record(
  {
    "content-type": fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin1",
        "application/json; charset=utf-16",
        "application/json; charset=klingon",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/*",
        "*/*",
      ),
      headerValue,
    ),
    "content-encoding": fc.constantFrom("gzip", "br", "deflate", "identity", "x-unknown"),
    accept: fc.oneof(fc.constantFrom("text/event-stream", "application/json", "*/*"), headerValue),
    authorization: fc.oneof(
      fc.constantFrom("Bearer", "Bearer ", "Bearer a b", "Basic Zm9vOmJhcg=="),
      headerValue,
    ),
    "x-api-key": headerValue,
    "x-request-id": headerValue,
    "cache-control": fc.oneof(
      fc.constantFrom("no-cache", "no-store", "max-age=-1", "no-cache, no-store"),
      headerValue,
    ),
    "x-ai-cache-ttl": fc.oneof(fc.constantFrom("0", "-1", "604801", "1e3", "NaN", "0x10"), headerValue),
    "accept-encoding": headerValue,
    "x-forwarded-for": headerValue,
    expect: fc.constantFrom("100-continue", "nonsense"),
  },
  { requiredKeys: [] },
);

/** A path segment: percent-encoded Unicode, malformed escapes, raw Latin-1 and dot segments. */
const segment = fc.oneof(
  anyString.map((text) => {
    try {
      return encodeURIComponent(text);
    } catch {
      return "%ED%A0%80"; // a lone surrogate cannot be encoded; send its raw UTF-8 bytes instead
    }
  }),
  fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|%[G-Zg-z]|[A-Za-z0-9._~!$&'()*+,;=:@-]){0,12}$/),
  fc.string({ unit: fc.constantFrom(..."\u00a0\u00e9\u00ff%."), maxLength: 8 }),
  fc.constantFrom("%ff", "%", "%2", "%zz", "%00", "%2e%2e", "..", ".", "%c0%af", "%e2%82", ""),
);
const query = fc.oneof(
  fc.constant(""),
  fc
    .array(
      fc.tuple(
        fc.constantFrom("date", "tenant", "date[]", "date[a]", "tenant[x][y]", "__proto__", "stream"),
        segment,
      ),
      { maxLength: 4 },
    )
    .map((pairs) => `?${pairs.map(([key, value]) => `${key}=${value}`).join("&")}`),
);
const ROUTES = [
  "/v1/chat/completions",
  "/v1/batch",
  "/v1/jobs",
  "/v1/usage",
  "/v1/models",
  "/health",
  "/health/live",
  "/health/ready",
  "/metrics",
];
const oddPath = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), query).map(([route, q]) => `${route}${q}`),
  fc.tuple(segment, query).map(([id, q]) => `/v1/jobs/${id}${q}`),
  fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), query)
    .map(([parts, q]) => `/${parts.join("/")}${q}`),
  fc
    .tuple(
      fc.constantFrom(...ROUTES),
      fc.constantFrom("/", "//", "/.", "/..", "%2f", "/%ff", "?", "#x", ";x"),
    )
    .map(([route, suffix]) => `${route}${suffix}`),
  fc.constantFrom(
    "//v1//chat//completions",
    "/V1/CHAT/COMPLETIONS",
    "/v1/jobs/%ff",
    "*",
    "/%",
    "/v1/%2e%2e/usage",
  ),
);

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

/** A probe of `path` with a body from `body`, any method and odd headers. */
function probeOf(
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<Buffer>,
  methods = METHODS,
): fc.Arbitrary<Probe> {
  return fc
    .record({
      method: fc.constantFrom(...methods),
      path,
      headers: oddHeaders,
      body: fc.option(body, { nil: undefined, freq: 8 }),
    })
    .map((probe) => ({
      ...probe,
      // Mostly JSON, so the requests reach the routes rather than stopping at the body parser.
      headers: { "content-type": "application/json", ...probe.headers },
    }));
}

/** Probes that mostly carry well-formed JSON and sane headers, so they get deep into the routes. */
function plain(path: string, body: fc.Arbitrary<unknown>, method = "POST"): fc.Arbitrary<Probe> {
  return fc.tuple(body, deepPair, fc.boolean()).map(([value, deep, stream]) => ({
    method,
    path,
    headers: { "content-type": "application/json", ...(stream ? { accept: "text/event-stream" } : {}) },
    body: Buffer.from(withDeep(value, deep)),
  }));
}

// ---- Properties ------------------------------------------------------------------------------

/** Fails on a 5xx or no answer at all (a reset or hang); checks the process is still alive after each. */
async function neverFails(probe: Probe): Promise<void> {
  const { status, body } = await send(probe);
  if (typeof status === "string" && status.startsWith("client refused")) return;
  expect(child.exitCode, "the gateway process exited").toBeNull();
  if (typeof status !== "number" || status >= 500) {
    throw new Error(
      `${probe.method} ${probe.path.slice(0, 200)} answered ${status}: ${body.slice(0, 300)} ` +
        `(body ${probe.body?.length ?? 0} bytes, starts ${JSON.stringify(probe.body?.subarray(0, 120).toString("utf8"))})`,
    );
  }
}

async function check(arbitrary: fc.Arbitrary<Probe>): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, neverFails), {
    seed: SEED,
    numRuns: RUNS,
    plugins: [fc.interruptAfterTimeLimit(BUDGET_MS)],
  });
  expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
}

async function residentBytes(): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\S+)/m.exec(text)?.[1]);
}

describe("the HTTP surface under arbitrary input (fast-check, fixed seed)", () => {
  const timeout = 90_000;
  let rssBefore = 0;
  beforeAll(async () => {
    rssBefore = await residentBytes();
  });

  it(
    "chat completions, streaming or not: no 5xx",
    () => check(plain("/v1/chat/completions", anyChat)),
    timeout,
  );

  it(
    "batch: no 5xx",
    () =>
      check(
        plain(
          "/v1/batch",
          fc.oneof(
            fc.record({ requests: fc.array(anyChat, { maxLength: 3 }) }),
            fc.record({ requests: anyJson }),
            anyJson,
          ),
        ),
      ),
    timeout,
  );

  it(
    "job submissions and polls: no 5xx",
    () =>
      check(
        fc.oneof(
          plain(
            "/v1/jobs",
            fc.oneof(
              anyChat,
              fc
                .tuple(
                  anyChat,
                  fc.oneof(anyString, fc.constantFrom("http://127.0.0.1:1/cb", "ftp://x", "http://[::1]/")),
                )
                .map(([request, callbackUrl]) => ({ ...request, callbackUrl })),
            ),
          ),
          fc.tuple(segment, query).map(([id, q]) => ({
            method: "GET",
            path: `/v1/jobs/${id}${q}`,
            headers: {},
          })),
        ),
      ),
    timeout,
  );

  it(
    "usage, models and health with odd queries and headers: no 5xx",
    () =>
      check(
        probeOf(
          fc
            .tuple(
              fc.constantFrom("/v1/usage", "/v1/models", "/health", "/health/live", "/health/ready"),
              query,
            )
            .map(([route, q]) => `${route}${q}`),
          bodyOf(anyJson),
          ["GET", "HEAD"],
        ),
      ),
    timeout,
  );

  it(
    "any method, path, headers and body: no 5xx",
    () => check(probeOf(oddPath, bodyOf(fc.oneof(anyChat, anyJson)))),
    timeout,
  );

  it("leaves the process alive with its memory bounded", async () => {
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    const rssAfter = await residentBytes();
    expect(rssAfter, `resident memory went from ${rssBefore} to ${rssAfter} bytes`).toBeLessThan(
      RSS_LIMIT_BYTES,
    );
  });
});
