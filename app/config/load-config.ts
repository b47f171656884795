import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseCallbackAllowList } from "../security/callback-allow-list";
import {
  DEFAULT_BASE_URLS,
  DEFAULT_MODELS,
  ENVIRONMENT_DEFAULTS,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  LOG_LEVELS,
  type LogLevel,
  PROVIDER_NAMES,
  type ProviderName,
  type TargetSpec,
} from "./defaults";
import { EMPTY_FILE_CONFIG, type FileConfig, parseFileConfig } from "./file-config";

/** Connection settings for one provider. */
export interface ProviderSettings {
  /** The key pool, in rotation order; empty when the provider needs no key or none is set. */
  readonly apiKeys: readonly string[];
  readonly baseUrl: string;
}

/** The gateway's validated configuration. */
export interface GatewayConfig {
  readonly environment: EnvironmentName;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly provider: ProviderName;
  readonly model: string;
  readonly fallbacks: readonly TargetSpec[];
  /** `AI_EMBEDDING_PROVIDER`: where an embeddings request's bare model name goes. Absent: the environment's default. */
  readonly embeddingProvider?: ProviderName;
  /** `AI_EMBEDDING_MODEL`: the gateway's own embedding model (semantic cache). Absent: the environment's default. */
  readonly embeddingModel?: string;
  readonly timeoutSeconds: number;
  /**
   * `AI_STREAM_IDLE_TIMEOUT_SECONDS`: the longest silence between two chunks of
   * an upstream stream before it ends with an error event; 0 disables.
   */
  readonly streamIdleTimeoutSeconds?: number;
  readonly maxRetries: number;
  readonly breakerThreshold: number;
  readonly breakerCooldownSeconds: number;
  readonly degradedReply: boolean;
  readonly cachingEnabled: boolean;
  readonly cacheTtlSeconds: number;
  /** Seconds past its TTL a cached answer may still be served when every provider fails; 0 = off. */
  readonly cacheStaleIfErrorSeconds: number;
  readonly monitoringEnabled: boolean;
  readonly dailyBudgetUsd: number;
  readonly budgetEnforce: boolean;
  readonly providers: Readonly<Record<ProviderName, ProviderSettings>>;
  readonly redisUrl: string | undefined;
  /**
   * `REDIS_CACHE_URL`: the response cache's own Redis (an allkeys-lru instance), so a full
   * cache never blocks the queue, budgets and rate limits on REDIS_URL. Unset: REDIS_URL.
   */
  readonly cacheRedisUrl?: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly chromaUrl: string | undefined;
  readonly gatewayApiKeys: readonly string[];
  /** `GATEWAY_ADMIN_KEYS`: keys that also see every tenant's usage (`/v1/usage?tenant=`). */
  readonly gatewayAdminKeys: readonly string[];
  /**
   * `AI_BUDGET_RESERVE_MAX_TOKENS`: the output tokens a paid call reserves
   * against the budget when the request sets no `max_tokens`.
   */
  readonly budgetReserveMaxTokens: number;
  readonly secretsId: string | undefined;
  readonly alertWebhookUrl: string | undefined;
  readonly configFile: string | undefined;
  readonly dataDir: string;
  /** `LEDGER_RETENTION_DAYS`, `LEDGER_ROLLUP_RETENTION_DAYS`, `LEDGER_ARCHIVE_DIR`: the ledger's retention (issue 18). */
  readonly ledgerRetentionDays: number;
  readonly ledgerRollupRetentionDays: number;
  readonly ledgerArchiveDir: string | undefined;
  readonly shutdownTimeoutSeconds: number;
  /**
   * `AI_CALLBACK_ALLOW_HOSTS`: host names, addresses and CIDR ranges job
   * callbacks may reach though they are internal (loopback, private,
   * link-local, unique-local); empty refuses every internal callback.
   */
  readonly callbackAllowHosts: readonly string[];
  /**
   * `AI_JOBS_QUEUE`: the BullMQ queue this process submits to and works on. Each blue-green slot
   * has its own (`ai-gateway-jobs-<slot>`), so an idle slot never runs a job the live one accepted.
   */
  readonly jobsQueue: string;
  /** `AI_JOBS_POLL_QUEUES`: other slots' queues a poll also looks in, so a job stays pollable across a flip. */
  readonly jobsPollQueues: readonly string[];
  /**
   * `GATEWAY_MAX_CONNECTIONS`: open sockets the HTTP server accepts; further
   * connections are closed at once (docs/design.md section 4).
   */
  readonly maxConnections: number;
  /** `GATEWAY_HEADERS_TIMEOUT_SECONDS`: a request's headers must arrive within this (slowloris). */
  readonly headersTimeoutSeconds: number;
  /** `GATEWAY_REQUEST_TIMEOUT_SECONDS`: a whole request (headers and body) must arrive within this. */
  readonly requestTimeoutSeconds: number;
  /** `METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /** Routing, prices and limits from `AI_CONFIG_FILE`. */
  readonly file: FileConfig;
}

/** `AI_STREAM_IDLE_TIMEOUT_SECONDS` when unset. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS = 60;

/** Thrown when the configuration is invalid; the message names every problem at once. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    const count = `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
    super(`Invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Variable-name prefixes of each provider's keys; the first also names its base URL. */
const KEY_PREFIXES: Readonly<Record<ProviderName, readonly string[]>> = {
  openai: ["OPENAI"],
  claude: ["CLAUDE", "ANTHROPIC"],
  gemini: ["GEMINI"],
  groq: ["GROQ"],
  ollama: ["OLLAMA"],
};

/** Providers that are called without an API key. */
const KEYLESS: ReadonlySet<ProviderName> = new Set(["ollama"]);

/** Variables whose values are secret or may embed one: errors name them, never their value. */
const SECRET_VARIABLES = new Set([
  "REDIS_URL",
  "REDIS_CACHE_URL",
  "DATABASE_URL",
  "ALERT_WEBHOOK_URL",
  "GATEWAY_API_KEYS",
  "GATEWAY_ADMIN_KEYS",
  "METRICS_TOKEN",
]);

// Every schema below sees the trimmed string or undefined (unset and empty are the same).
const shown = (input: unknown, variable: string) =>
  SECRET_VARIABLES.has(variable) ? "the value" : `"${String(input)}"`;

const number = (_variable: string, rule: { min: number; max?: number; integer?: boolean; what: string }) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const value = Number(raw);
      const ok =
        raw !== "" &&
        Number.isFinite(value) &&
        value >= rule.min &&
        (rule.max === undefined || value <= rule.max) &&
        (!rule.integer || Number.isInteger(value));
      if (ok) return value;
      ctx.addIssue({ code: "custom", message: `"${raw}" is not allowed; expected ${rule.what}` });
      return z.NEVER;
    })
    .meta({ type: rule.what });

/** A comma list; `check` returns the problems of its entries (empty when they are fine). */
const commaList = (check: (entries: string[]) => readonly string[]) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): string[] | undefined => {
      if (raw === undefined) return undefined;
      const entries = raw
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean);
      for (const problem of check(entries)) ctx.addIssue({ code: "custom", message: problem });
      return entries;
    })
    .meta({ type: "comma list" });

/** A comma list of BullMQ queue names (letters, digits, `-`, `_`; BullMQ reserves `:`). */
const queueNames = () =>
  commaList((names) => {
    const bad = names.filter((name) => !/^[A-Za-z0-9_-]{1,100}$/.test(name));
    return bad.length === 0
      ? []
      : [`"${bad.join(",")}" is not allowed; expected queue names of letters, digits, - and _`];
  });

const boolean = () =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const lower = raw.toLowerCase();
      if (["true", "1", "yes", "on"].includes(lower)) return true;
      if (["false", "0", "no", "off"].includes(lower)) return false;
      ctx.addIssue({ code: "custom", message: `"${raw}" is not allowed; expected true or false` });
      return z.NEVER;
    })
    .meta({ type: "boolean (true/false, 1/0, yes/no, on/off)" });

const url = (variable: string, example: string) =>
  z
    .string()
    .optional()
    .refine((raw) => raw === undefined || URL.canParse(raw), {
      error: (issue) => `${shown(issue.input, variable)} is not a valid URL; expected for example ${example}`,
    })
    .meta({ type: `URL, for example ${example}` });

/**
 * What each provider's `*_BASE_URL` looks like. The adapters accept the URL
 * with or without the API version segment (app/providers), so both forms work.
 */
const BASE_URL_FORMS: Readonly<Record<ProviderName, string>> = {
  openai: "the API root with or without /v1, for example https://api.openai.com/v1",
  claude: "the API root with or without /v1, for example https://api.anthropic.com",
  gemini: "the API root with or without /v1beta, for example https://generativelanguage.googleapis.com",
  groq: "the API root with or without /v1, for example https://api.groq.com/openai/v1",
  ollama: "the server with or without /v1, for example http://127.0.0.1:11434",
};

// A provider endpoint: http(s), no query or fragment (paths are appended to it).
const baseUrl = (expected: string) =>
  z
    .string()
    .optional()
    .refine(
      (raw) => {
        if (raw === undefined) return true;
        if (!URL.canParse(raw)) return false;
        const parsed = new URL(raw);
        return (
          (parsed.protocol === "http:" || parsed.protocol === "https:") && !parsed.search && !parsed.hash
        );
      },
      {
        error: (issue) =>
          `"${String(issue.input)}" is not allowed; expected ${expected} (http or https, no query)`,
      },
    );

const oneOf = <T extends string>(values: readonly [T, ...T[]], noun: string) =>
  z.enum(values, {
    error: (issue) => `"${String(issue.input)}" is not ${noun}; use one of ${values.join(", ")}`,
  });

const fallbackList = z
  .string()
  .optional()
  .transform((raw, ctx): TargetSpec[] | undefined => {
    if (raw === undefined) return undefined;
    const targets: TargetSpec[] = [];
    for (const entry of raw
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)) {
      const [name = "", model, ...rest] = entry.split("/");
      if (!(PROVIDER_NAMES as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          message: `"${name}" is not a provider; use one of ${PROVIDER_NAMES.join(", ")}`,
        });
      } else if (model === "" || (rest.length > 0 && rest.join("/") === "")) {
        ctx.addIssue({
          code: "custom",
          message: `"${entry}" has an empty model; write "${name}" or "${name}/<model>"`,
        });
      } else {
        const provider = name as ProviderName;
        const fullModel = model === undefined ? DEFAULT_MODELS[provider] : [model, ...rest].join("/");
        targets.push({ provider, model: fullModel });
      }
    }
    return targets;
  })
  .meta({ type: "comma list of `provider` or `provider/model`" });

/** The variables of docs/design.md section 4 (and this kit's additions), each parsed on its own. */
export const envSchema = z.object({
  ENVIRONMENT: oneOf(ENVIRONMENT_NAMES, "allowed").optional().meta({
    description: "Picks the defaults below; staging and production also require client and provider keys.",
    default: "development",
  }),
  PORT: number("PORT", { min: 0, max: 65535, integer: true, what: "a port number from 0 to 65535" }).meta({
    description: "Port the gateway listens on.",
    default: "8080",
  }),
  HOST: z.string().optional().meta({ description: "Address the gateway listens on.", default: "0.0.0.0" }),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((raw) => raw?.toLowerCase())
    .pipe(oneOf(LOG_LEVELS, "allowed").optional())
    .meta({ description: "pino log level, case-insensitive.", defaultPerEnvironment: "logLevel" }),
  AI_PROVIDER: oneOf(PROVIDER_NAMES, "a provider").optional().meta({
    description:
      "Primary provider: serves any model name that is neither a route alias nor `<provider>/<model>`.",
    defaultPerEnvironment: "provider",
  }),
  AI_MODEL: z.string().optional().meta({
    description: "Primary model; with only `AI_PROVIDER` set, that provider's default model.",
    defaultPerEnvironment: "model",
  }),
  AI_EMBEDDING_PROVIDER: oneOf(PROVIDER_NAMES, "a provider").optional().meta({
    description:
      "Provider of `POST /v1/embeddings` for a model name that is neither a route alias nor `<provider>/<model>` (openai, gemini or ollama; groq has no embeddings).",
    defaultPerEnvironment: "embeddingProvider",
  }),
  AI_EMBEDDING_MODEL: z.string().optional().meta({
    description:
      "Embedding model of the gateway's own embeddings (the semantic cache), on `AI_EMBEDDING_PROVIDER`.",
    defaultPerEnvironment: "embeddingModel",
  }),
  AI_FALLBACK_PROVIDERS: fallbackList.meta({
    description:
      "Ordered failover targets after the primary, e.g. `claude,gemini/gemini-1.5-pro`; a bare provider uses its default model.",
    defaultPerEnvironment: "fallbacks",
  }),
  AI_TIMEOUT_SECONDS: number("AI_TIMEOUT_SECONDS", { min: 0.001, what: "a positive number of seconds" }).meta(
    { description: "Timeout of one upstream attempt.", defaultPerEnvironment: "timeoutSeconds" },
  ),
  AI_STREAM_IDLE_TIMEOUT_SECONDS: number("AI_STREAM_IDLE_TIMEOUT_SECONDS", {
    min: 0,
    what: "a number of seconds, 0 or more (0 disables)",
  }).meta({
    description:
      "Longest wait between two chunks of a streamed answer; the stream then ends with an SSE error event and the breaker counts it. 0 disables.",
    default: "60",
  }),
  AI_MAX_RETRIES: number("AI_MAX_RETRIES", { min: 0, integer: true, what: "a whole number, 0 or more" }).meta(
    {
      description:
        "Retries per target before failing over (backoff with jitter, or the upstream's Retry-After up to 30 s).",
      defaultPerEnvironment: "maxRetries",
    },
  ),
  AI_BREAKER_THRESHOLD: number("AI_BREAKER_THRESHOLD", {
    min: 1,
    integer: true,
    what: "a whole number of failures, 1 or more",
  }).meta({ description: "Consecutive failures that open a provider's circuit breaker.", default: "5" }),
  AI_BREAKER_COOLDOWN_SECONDS: number("AI_BREAKER_COOLDOWN_SECONDS", {
    min: 0.001,
    what: "a positive number of seconds",
  }).meta({
    description: "Seconds an open breaker waits before one probe request (half-open).",
    default: "60",
  }),
  AI_DEGRADED_REPLY: boolean().meta({
    description:
      "When every target fails, answer the guide's apology (200, `x-ai-degraded: true`) instead of 502/504.",
    default: "false",
  }),
  AI_CACHE_ENABLED: boolean().meta({
    description: "Response cache switch.",
    defaultPerEnvironment: "cachingEnabled",
  }),
  AI_CACHE_TTL_SECONDS: number("AI_CACHE_TTL_SECONDS", {
    min: 1,
    integer: true,
    what: "a whole number of seconds, 1 or more",
  }).meta({
    description: "Response cache TTL; a request's `x-ai-cache-ttl` header overrides it.",
    defaultPerEnvironment: "cacheTtlSeconds",
  }),
  AI_CACHE_STALE_IF_ERROR_SECONDS: number("AI_CACHE_STALE_IF_ERROR_SECONDS", {
    min: 0,
    integer: true,
    what: "a whole number of seconds, 0 or more",
  }).meta({
    description:
      "Serve stale on outage: cached answers are kept this long past their TTL and served (`x-ai-cache: stale`, billed at zero) when every provider fails; 0 turns it off.",
    default: "0",
  }),
  AI_MONITORING_ENABLED: boolean().meta({
    description:
      "The guide's per-environment monitoring switch; validated and kept in the configuration (`/metrics` is served either way).",
    defaultPerEnvironment: "monitoringEnabled",
  }),
  AI_DAILY_BUDGET: number("AI_DAILY_BUDGET", { min: 0, what: "a number of USD, 0 or more" }).meta({
    description: "Budget in USD per UTC day: a warning at 80 %, a critical alert at 100 %.",
    defaultPerEnvironment: "dailyBudgetUsd",
  }),
  AI_BUDGET_ENFORCE: boolean().meta({
    description:
      "Reserve each paid call's worst case and refuse with 429 `budget_exceeded` once the day's budget is spent.",
    default: "false",
  }),
  AI_BUDGET_RESERVE_MAX_TOKENS: number("AI_BUDGET_RESERVE_MAX_TOKENS", {
    min: 1,
    integer: true,
    what: "a whole number of tokens, 1 or more",
  }).meta({
    description: "Output tokens a budget reservation assumes when a request sets no `max_tokens`.",
    default: "4096",
  }),
  REDIS_URL: url("REDIS_URL", "redis://127.0.0.1:6379").meta({
    description:
      "Redis for the job queue, budget counters and rate limits (a `noeviction` server), and the cache's.",
    default: "unset: in-process equivalents",
  }),
  REDIS_CACHE_URL: url("REDIS_CACHE_URL", "redis://127.0.0.1:6380").meta({
    description: "The response cache's own Redis (`allkeys-lru`).",
    default: "`REDIS_URL`",
  }),
  DATABASE_URL: url("DATABASE_URL", "postgres://user@127.0.0.1:5432/db").meta({
    description: "Postgres for the cost ledger.",
    default: "unset: PGlite under `DATA_DIR`",
  }),
  CHROMA_URL: url("CHROMA_URL", "http://127.0.0.1:8000").meta({
    description: "Chroma, checked by `GET /health`.",
    default: "unset",
  }),
  ALERT_WEBHOOK_URL: url("ALERT_WEBHOOK_URL", "https://hooks.example.com/ai").meta({
    description: "Where alerts (budget, secrets refresh, ledger dead letters) are POSTed.",
    default: "unset: logged only",
  }),
  GATEWAY_API_KEYS: z.string().optional().meta({
    type: "comma list",
    description:
      "Client keys (held as SHA-256 hashes); every `/v1` route then needs one. Required in staging and production.",
    default: "unset: open (development)",
  }),
  GATEWAY_ADMIN_KEYS: z.string().optional().meta({
    type: "comma list",
    description: "Admin keys: valid client keys that also read every tenant's `/v1/usage`.",
    default: "none",
  }),
  AI_SECRETS_ID: z.string().optional().meta({
    description:
      "AWS Secrets Manager secret whose JSON holds provider and client keys; read at start and every 5 minutes.",
    default: "unset",
  }),
  AI_CONFIG_FILE: z.string().optional().meta({
    type: "path",
    description:
      "JSON file with `routes`, `prices`, `limits` and `injection`; reloaded on change and SIGHUP.",
    default: "unset",
  }),
  DATA_DIR: z.string().optional().meta({
    type: "path",
    description: "Embedded data: PGlite ledger, ledger spool, journal and dead letters; one per process.",
    default: ".data",
  }),
  LEDGER_RETENTION_DAYS: number("LEDGER_RETENTION_DAYS", {
    min: 1,
    integer: true,
    what: "a whole number of days, 1 or more",
  }).meta({
    description:
      "Days of raw ledger rows kept before today; older day partitions are exported to `LEDGER_ARCHIVE_DIR`, then dropped.",
    default: "90",
  }),
  LEDGER_ROLLUP_RETENTION_DAYS: number("LEDGER_ROLLUP_RETENTION_DAYS", {
    min: 1,
    integer: true,
    what: "a whole number of days, 1 or more",
  }).meta({
    description: "Days of `ledger_daily` rollups kept (and how far back `/v1/usage?from=` reaches).",
    default: "730",
  }),
  LEDGER_ARCHIVE_DIR: z.string().optional().meta({
    type: "path",
    description:
      "Where a day past retention is exported (`ledger-YYYY-MM-DD.jsonl.gz`) before its partition is dropped.",
    default: "unset: partitions are kept, with a warning",
  }),
  AI_CALLBACK_ALLOW_HOSTS: commaList((entries) => parseCallbackAllowList(entries).problems).meta({
    description: "Host names, IPs or CIDR ranges job callbacks may reach though they are internal.",
    default: "none: internal callbacks refused",
  }),
  AI_JOBS_QUEUE: queueNames()
    .transform((names, ctx) => {
      if (names !== undefined && names.length !== 1) {
        ctx.addIssue({ code: "custom", message: "names one queue, for example ai-gateway-jobs-blue" });
        return z.NEVER;
      }
      return names?.[0];
    })
    .meta({
      type: "queue name",
      description: "The BullMQ queue this process submits to and works on.",
      default: "ai-gateway-jobs",
    }),
  AI_JOBS_POLL_QUEUES: queueNames().meta({
    description: "Other blue-green slots' queues a job poll also looks in.",
    default: "none",
  }),
  SHUTDOWN_TIMEOUT_SECONDS: number("SHUTDOWN_TIMEOUT_SECONDS", {
    min: 0,
    what: "a number of seconds, 0 or more",
  }).meta({
    description:
      "The one shutdown deadline after SIGTERM: HTTP drain, queue close, ledger flush; the Kubernetes construct derives it.",
    default: "25",
  }),
  GATEWAY_MAX_CONNECTIONS: number("GATEWAY_MAX_CONNECTIONS", {
    min: 1,
    integer: true,
    what: "a whole number of connections, 1 or more",
  }).meta({
    description: "Open sockets the HTTP server accepts; further connections are closed and counted.",
    default: "4096",
  }),
  GATEWAY_HEADERS_TIMEOUT_SECONDS: number("GATEWAY_HEADERS_TIMEOUT_SECONDS", {
    min: 0.1,
    max: 3600,
    what: "a number of seconds from 0.1 to 3600",
  }).meta({ description: "A request's headers must arrive within this (slowloris).", default: "20" }),
  GATEWAY_REQUEST_TIMEOUT_SECONDS: number("GATEWAY_REQUEST_TIMEOUT_SECONDS", {
    min: 0.1,
    max: 3600,
    what: "a number of seconds from 0.1 to 3600",
  }).meta({ description: "A whole request (headers and body) must arrive within this.", default: "60" }),
  METRICS_TOKEN: z.string().optional().meta({
    description:
      "When set, `/metrics` answers only with `Authorization: Bearer <token>` (constant-time compare).",
    default: "unset: open",
  }),
  ...Object.fromEntries(
    PROVIDER_NAMES.map((name) => [
      `${KEY_PREFIXES[name][0]}_BASE_URL`,
      baseUrl(BASE_URL_FORMS[name]).meta({
        type: "URL",
        description: `Base URL of the ${name} API (with or without the version segment): a proxy, a compatible server or a fake upstream instead of the vendor.`,
        default: DEFAULT_BASE_URLS[name],
      }),
    ]),
  ),
});

type EnvVars = z.output<typeof envSchema>;

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Reads `AI_CONFIG_FILE`; injected by tests. */
  readonly readFile?: (path: string) => string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads, validates and resolves the configuration from environment variables
 * (docs/design.md section 4). Throws a {@link ConfigError} naming every missing or
 * invalid setting with its value and what is allowed. Secret values never
 * appear in the message.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): GatewayConfig {
  const trimmed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const clean = value?.trim();
    if (clean) trimmed[name] = clean;
  }

  // Each variable is parsed on its own so one message names every bad one;
  // a bad variable falls back to its default, its problem already recorded.
  const problems: string[] = [];
  const vars: Partial<EnvVars> = {};
  for (const [name, schema] of Object.entries(envSchema.shape) as [keyof EnvVars, z.ZodType][]) {
    const result = schema.safeParse(trimmed[name]);
    if (result.success) (vars as Record<string, unknown>)[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => `${name}: ${issue.message}`));
  }
  const good = <K extends keyof EnvVars>(name: K): EnvVars[K] | undefined => vars[name];

  const environment: EnvironmentName = good("ENVIRONMENT") ?? "development";
  const defaults = ENVIRONMENT_DEFAULTS[environment];
  const provider = good("AI_PROVIDER") ?? defaults.provider;
  const fallbacks = good("AI_FALLBACK_PROVIDERS") ?? [...defaults.fallbacks];

  const providers = {} as Record<ProviderName, ProviderSettings>;
  for (const name of PROVIDER_NAMES) {
    const keys: string[] = [];
    for (const prefix of KEY_PREFIXES[name]) {
      const single = trimmed[`${prefix}_API_KEY`];
      if (single) keys.push(single);
      for (let index = 1; trimmed[`${prefix}_API_KEY_${index}`]; index++)
        keys.push(trimmed[`${prefix}_API_KEY_${index}`]!);
    }
    const baseUrl = good(`${KEY_PREFIXES[name][0]}_BASE_URL` as keyof typeof vars) as string | undefined;
    providers[name] = { apiKeys: [...new Set(keys)], baseUrl: baseUrl ?? DEFAULT_BASE_URLS[name] };
  }

  const keyList = (value: string | undefined) =>
    (value ?? "")
      .split(",")
      .map((key) => key.trim())
      .filter(Boolean);
  const gatewayApiKeys = keyList(trimmed["GATEWAY_API_KEYS"]);
  const gatewayAdminKeys = keyList(trimmed["GATEWAY_ADMIN_KEYS"]);
  const secretsId = trimmed["AI_SECRETS_ID"];

  if (environment !== "development") {
    // With AI_SECRETS_ID the client keys may arrive in the secret; the secrets
    // loader refuses to start when neither place has them.
    if (gatewayApiKeys.length === 0 && !secretsId) {
      problems.push(`GATEWAY_API_KEYS: missing; required in ${environment} (a comma list of client keys)`);
    }
    // With AI_SECRETS_ID the provider keys arrive from Secrets Manager at start instead.
    if (!secretsId) {
      for (const name of new Set<ProviderName>([provider, ...fallbacks.map((target) => target.provider)])) {
        if (KEYLESS.has(name) || providers[name].apiKeys.length > 0) continue;
        const variables = KEY_PREFIXES[name].map((prefix) => `${prefix}_API_KEY`).join(" or ");
        problems.push(
          `${variables}: missing; required in ${environment} because routing uses ${name} (or set AI_SECRETS_ID)`,
        );
      }
    }
  }

  const configFile = trimmed["AI_CONFIG_FILE"];
  let file: FileConfig = EMPTY_FILE_CONFIG;
  if (configFile) {
    const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
    let text: string | undefined;
    try {
      text = readFile(configFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      problems.push(
        `AI_CONFIG_FILE: "${configFile}" cannot be read (${code}); point it at a readable JSON file`,
      );
    }
    if (text !== undefined) {
      const result = parseFileConfig(text);
      if (result.ok) file = result.value;
      else problems.push(...result.problems.map((problem) => `AI_CONFIG_FILE (${configFile}): ${problem}`));
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    environment,
    port: good("PORT") ?? 8080,
    host: good("HOST") ?? "0.0.0.0",
    logLevel: good("LOG_LEVEL") ?? defaults.logLevel,
    provider,
    model: good("AI_MODEL") ?? (good("AI_PROVIDER") ? DEFAULT_MODELS[provider] : defaults.model),
    fallbacks,
    embeddingProvider: good("AI_EMBEDDING_PROVIDER") ?? defaults.embeddingProvider,
    embeddingModel: good("AI_EMBEDDING_MODEL") ?? defaults.embeddingModel,
    timeoutSeconds: good("AI_TIMEOUT_SECONDS") ?? defaults.timeoutSeconds,
    streamIdleTimeoutSeconds: good("AI_STREAM_IDLE_TIMEOUT_SECONDS") ?? DEFAULT_STREAM_IDLE_TIMEOUT_SECONDS,
    maxRetries: good("AI_MAX_RETRIES") ?? defaults.maxRetries,
    breakerThreshold: good("AI_BREAKER_THRESHOLD") ?? 5,
    breakerCooldownSeconds: good("AI_BREAKER_COOLDOWN_SECONDS") ?? 60,
    degradedReply: good("AI_DEGRADED_REPLY") ?? false,
    cachingEnabled: good("AI_CACHE_ENABLED") ?? defaults.cachingEnabled,
    cacheTtlSeconds: good("AI_CACHE_TTL_SECONDS") ?? defaults.cacheTtlSeconds,
    cacheStaleIfErrorSeconds: good("AI_CACHE_STALE_IF_ERROR_SECONDS") ?? 0,
    monitoringEnabled: good("AI_MONITORING_ENABLED") ?? defaults.monitoringEnabled,
    dailyBudgetUsd: good("AI_DAILY_BUDGET") ?? defaults.dailyBudgetUsd,
    budgetEnforce: good("AI_BUDGET_ENFORCE") ?? false,
    providers,
    redisUrl: good("REDIS_URL"),
    cacheRedisUrl: good("REDIS_CACHE_URL") ?? good("REDIS_URL"),
    databaseUrl: good("DATABASE_URL"),
    chromaUrl: good("CHROMA_URL"),
    gatewayApiKeys,
    gatewayAdminKeys,
    budgetReserveMaxTokens: good("AI_BUDGET_RESERVE_MAX_TOKENS") ?? 4096,
    secretsId,
    alertWebhookUrl: good("ALERT_WEBHOOK_URL"),
    configFile,
    dataDir: good("DATA_DIR") ?? ".data",
    ledgerRetentionDays: good("LEDGER_RETENTION_DAYS") ?? 90,
    ledgerRollupRetentionDays: good("LEDGER_ROLLUP_RETENTION_DAYS") ?? 730,
    ledgerArchiveDir: good("LEDGER_ARCHIVE_DIR"),
    shutdownTimeoutSeconds: good("SHUTDOWN_TIMEOUT_SECONDS") ?? 25,
    callbackAllowHosts: good("AI_CALLBACK_ALLOW_HOSTS") ?? [],
    jobsQueue: good("AI_JOBS_QUEUE") ?? "ai-gateway-jobs",
    jobsPollQueues: good("AI_JOBS_POLL_QUEUES") ?? [],
    maxConnections: good("GATEWAY_MAX_CONNECTIONS") ?? 4096,
    headersTimeoutSeconds: good("GATEWAY_HEADERS_TIMEOUT_SECONDS") ?? 20,
    // Never shorter than the headers' own deadline, which it includes.
    requestTimeoutSeconds: Math.max(
      good("GATEWAY_REQUEST_TIMEOUT_SECONDS") ?? 60,
      good("GATEWAY_HEADERS_TIMEOUT_SECONDS") ?? 20,
    ),
    metricsToken: trimmed["METRICS_TOKEN"],
    file,
  };
}
