import { access, constants, mkdir } from "node:fs/promises";
import type { ProviderName } from "../config/defaults";
import type { Clock } from "../resilience/clock";

/** One check's outcome as `/health` and `/health/ready` report it. */
export interface CheckResult {
  readonly status: "up" | "down";
  /** Why it is down; never carries a secret. */
  readonly error?: string;
  readonly latencyMs?: number;
  readonly [detail: string]: unknown;
}

/**
 * A dependency check. Resolves with details when the dependency works, throws
 * when it does not. It gets a signal that aborts at the per-check deadline.
 */
export type HealthCheck = (signal: AbortSignal) => Promise<Record<string, unknown> | undefined>;

/** What a provider's circuit breaker and recent outcomes say about it. */
export interface ProviderState {
  readonly state: "closed" | "half-open" | "open";
  readonly [detail: string]: unknown;
}

/** Reads every provider's breaker state; supplied by the router. */
export type ProviderStatesSource = () => Partial<Record<ProviderName, ProviderState>>;

/** An unbilled probe of a provider (a models-list call); supplied by the adapters. */
export type ListModels = (provider: ProviderName, signal: AbortSignal) => Promise<readonly string[]>;

/** Strips credentials from URLs and caps the length of an error message. */
export function safeMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return raw.replace(/\/\/[^/@\s]*@/g, "//[redacted]@").slice(0, 200);
}

/** Runs a check with a deadline: a hanging dependency reports down instead of stalling the probe. */
export async function runCheck(check: HealthCheck, timeoutMs: number, clock: Clock): Promise<CheckResult> {
  const started = clock.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
  });
  try {
    const details = await Promise.race([check(controller.signal), deadline]);
    return { status: "up", latencyMs: clock.now() - started, ...details };
  } catch (error) {
    return { status: "down", error: safeMessage(error), latencyMs: clock.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs named checks in parallel, each with its own deadline. */
export async function runChecks(
  checks: Readonly<Record<string, HealthCheck>>,
  timeoutMs: number,
  clock: Clock,
): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(
      async ([name, check]) => [name, await runCheck(check, timeoutMs, clock)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** Something that answers PING (an ioredis client). */
export interface Pingable {
  readonly status: string;
  ping(): Promise<string>;
  once(event: "ready", listener: () => void): unknown;
  off(event: "ready", listener: () => void): unknown;
}

/**
 * Redis answers PING. A client still making its first connection gets until
 * the deadline to finish it (the request-path client queues nothing offline,
 * so a PING before then would fail at once).
 */
export function redisCheck(redis: Pingable): HealthCheck {
  return async (signal) => {
    if (redis.status === "wait" || redis.status === "connecting" || redis.status === "connect") {
      await new Promise<void>((resolve) => {
        const done = () => {
          redis.off("ready", done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        redis.once("ready", done);
        signal.addEventListener("abort", done);
      });
    }
    const reply = await redis.ping();
    if (reply !== "PONG") throw new Error(`unexpected PING reply ${JSON.stringify(reply).slice(0, 40)}`);
    return undefined;
  };
}

/** Something that runs SQL (a pg Pool or PGlite). */
export interface Queryable {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

/** Postgres answers, and reports whether the pgvector extension is installed. */
export function postgresCheck(db: Queryable): HealthCheck {
  return async () => {
    const result = await db.query("select extversion from pg_extension where extname = 'vector'");
    const row = result.rows[0] as { extversion?: string } | undefined;
    return { vector: row !== undefined, ...(row?.extversion ? { vectorVersion: row.extversion } : {}) };
  };
}

/** Chroma's v2 heartbeat answers 200. */
export function chromaCheck(baseUrl: string, fetchImpl: typeof fetch = fetch): HealthCheck {
  const url = new URL("api/v2/heartbeat", baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  return async (signal) => {
    const response = await fetchImpl(url, { signal });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`heartbeat answered ${response.status}`);
    return undefined;
  };
}

/** A directory the gateway must write to (the ledger spool) exists and is writable. */
export function writableDirCheck(dir: string): HealthCheck {
  return async () => {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return undefined;
  };
}

/** Options of {@link ProviderProbe}. */
export interface ProviderProbeOptions {
  readonly listModels: ListModels;
  readonly clock: Clock;
  /** At most one probe per provider per this interval; answers in between come from the cache. @default 60_000 */
  readonly intervalMs?: number;
}

interface CachedProbe {
  readonly at: number;
  readonly result: Promise<CheckResult>;
}

/**
 * Probes providers with an unbilled models-list call, at most once per provider
 * per interval however often `/health` is hit; concurrent callers share one
 * probe in flight.
 */
export class ProviderProbe {
  private readonly cache = new Map<ProviderName, CachedProbe>();
  private readonly intervalMs: number;

  constructor(private readonly options: ProviderProbeOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  /** The cached or fresh probe result for a provider. */
  probe(provider: ProviderName, timeoutMs: number): Promise<CheckResult> {
    const now = this.options.clock.now();
    const cached = this.cache.get(provider);
    if (cached && now - cached.at < this.intervalMs) return cached.result;
    const result = runCheck(
      async (signal) => ({ models: (await this.options.listModels(provider, signal)).length }),
      timeoutMs,
      this.options.clock,
    ).then((outcome) => ({ ...outcome, checkedAt: new Date(now).toISOString() }));
    this.cache.set(provider, { at: now, result });
    return result;
  }
}
