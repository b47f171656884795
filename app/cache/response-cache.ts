import type { Logger } from "pino";
import { METRIC } from "../observability/metric-names";
import { type MetricsSink, noopMetrics } from "../observability/metrics-sink";
import type { CacheDirectives } from "./directives";
import { isOutage } from "./stale";
import type { CachedResponse, CacheStore } from "./store";

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  readonly store: CacheStore;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
  /** The time entries are stamped and judged fresh or stale by. @default Date.now */
  readonly clock?: { now(): number };
}

/** What {@link ResponseCache.resolve} did. */
export interface Resolved<T> {
  /**
   * `hit`: from the cache; `miss`: produced (or shared from an identical request in flight); `bypass`: lookup skipped;
   * `stale`: every provider failed and an expired entry within the stale-if-error window answered.
   */
  readonly outcome: "hit" | "miss" | "bypass" | "stale";
  /** The cached entry on a hit. */
  readonly cached?: CachedResponse;
  /** The produced value on a miss or bypass. */
  readonly produced?: T;
  /** True when this request waited for an identical one instead of calling upstream. */
  readonly shared: boolean;
}

/**
 * The response cache: lookups and writes that never fail a request (a store
 * error counts as a miss, with a metric and one log line per outage), and
 * single-flight so identical concurrent requests make one upstream call.
 */
export class ResponseCache {
  private readonly flights = new Map<string, Promise<CachedResponse | undefined>>();
  private readonly metrics: MetricsSink;
  private degraded = false;

  constructor(private readonly options: ResponseCacheOptions) {
    this.metrics = options.metrics ?? noopMetrics;
  }

  /** `redis` or `memory`. */
  get kind(): "redis" | "memory" {
    return this.options.store.kind;
  }

  /** The fresh entry for a key, or undefined on a miss (an expired entry is one) or a store error. */
  async get(key: string): Promise<CachedResponse | undefined> {
    const store = this.options.store.kind;
    try {
      const found = await this.options.store.get(key);
      const entry = found && this.isFresh(found) ? found : undefined;
      this.healthy();
      this.metrics.inc(entry ? METRIC.cacheHits : METRIC.cacheMisses, { store });
      return entry;
    } catch (error) {
      this.failed("get", error);
      this.metrics.inc(METRIC.cacheMisses, { store });
      return undefined;
    }
  }

  /**
   * An entry past its TTL but within its stale-if-error window, for when every
   * provider failed; undefined otherwise (a store error included). Counted in
   * `ai_gateway_cache_stale_served_total` when found.
   */
  async stale(key: string): Promise<CachedResponse | undefined> {
    try {
      const entry = await this.options.store.get(key);
      if (!entry || entry.staleUntil === undefined || this.now() >= entry.staleUntil) return undefined;
      this.metrics.inc(METRIC.cacheStaleServed, { store: this.options.store.kind });
      return entry;
    } catch (error) {
      this.failed("get", error);
      return undefined;
    }
  }

  /**
   * Stores an entry, fresh for `ttlSeconds` and kept `staleSeconds` longer for
   * outages; a store error is reported and swallowed.
   */
  async set(key: string, value: CachedResponse, ttlSeconds: number, staleSeconds = 0): Promise<void> {
    if (ttlSeconds <= 0) return;
    const now = this.now();
    const stamped: CachedResponse = {
      ...value,
      expiresAt: now + ttlSeconds * 1000,
      staleUntil: now + (ttlSeconds + Math.max(0, staleSeconds)) * 1000,
    };
    try {
      await this.options.store.set(key, stamped, ttlSeconds + Math.max(0, staleSeconds));
      this.healthy();
    } catch (error) {
      this.failed("set", error);
    }
  }

  /**
   * Serves from the cache or runs `produce` once for all identical requests in
   * flight. `produce` returns the value for this caller and, when the answer
   * may be cached, the entry to store. The entry is stored before the flight
   * ends, so a request arriving just after sees the hit.
   */
  async resolve<T>(
    key: string,
    directives: CacheDirectives,
    produce: () => Promise<{ value: T; entry?: CachedResponse }>,
    options: {
      /** Runs once the answer is known not to be cached, before any upstream call (the budget check). */
      readonly onMiss?: () => Promise<void> | void;
      /**
       * Whether identical requests waiting on this one share its failure.
       * False for a failure of this request alone (its client hung up): the
       * waiting ones then go upstream themselves. @default always
       */
      readonly shareError?: (error: unknown) => boolean;
      /**
       * `AI_CACHE_STALE_IF_ERROR_SECONDS`: entries are kept this long past their TTL, and one is
       * served (outcome `stale`) when `produce` throws the all-providers-failed error. @default 0 (off)
       */
      readonly staleIfErrorSeconds?: number;
    } = {},
  ): Promise<Resolved<T>> {
    if (!directives.lookup) {
      await options.onMiss?.();
      const result = await produce();
      if (directives.write && result.entry)
        await this.set(key, result.entry, directives.ttlSeconds, options.staleIfErrorSeconds);
      return { outcome: "bypass", produced: result.value, shared: false };
    }
    // Wait for an identical request in flight (looking up or producing); its
    // answer serves this one too. Its failure is this request's failure (one
    // upstream call, one error); an answer it could not cache sends this
    // request on itself. The flight is registered before the lookup, so a
    // lookup that misses while the first answer is being stored cannot start
    // a second upstream call.
    for (let flight = this.flights.get(key); flight; flight = this.flights.get(key)) {
      const entry = await flight;
      if (entry) return { outcome: this.isFresh(entry) ? "miss" : "stale", cached: entry, shared: true };
    }

    let settle: { resolve(entry: CachedResponse | undefined): void; reject(error: unknown): void } = {
      resolve: () => {},
      reject: () => {},
    };
    const flight = new Promise<CachedResponse | undefined>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Nobody may be waiting; a rejection must not surface as unhandled.
    flight.catch(() => {});
    this.flights.set(key, flight);
    try {
      const cached = await this.get(key);
      if (cached) {
        settle.resolve(cached);
        return { outcome: "hit", cached, shared: false };
      }
      await options.onMiss?.();
      const result = await produce();
      if (directives.write && result.entry)
        await this.set(key, result.entry, directives.ttlSeconds, options.staleIfErrorSeconds);
      settle.resolve(directives.write ? result.entry : undefined);
      return { outcome: "miss", produced: result.value, shared: false };
    } catch (error) {
      const stale =
        (options.staleIfErrorSeconds ?? 0) > 0 && isOutage(error) ? await this.stale(key) : undefined;
      if (stale) {
        settle.resolve(stale);
        return { outcome: "stale", cached: stale, shared: false };
      }
      if (options.shareError?.(error) ?? true) settle.reject(error);
      else settle.resolve(undefined);
      throw error;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  private isFresh(entry: CachedResponse): boolean {
    return entry.expiresAt === undefined || this.now() < entry.expiresAt;
  }

  private now(): number {
    return this.options.clock?.now() ?? Date.now();
  }

  private failed(operation: "get" | "set", error: unknown): void {
    this.metrics.inc(METRIC.cacheErrors, { store: this.options.store.kind, operation });
    if (!this.degraded) {
      this.options.logger.warn(
        { store: this.options.store.kind, operation, err: { message: (error as Error).message } },
        "response cache unavailable; serving uncached",
      );
    }
    this.degraded = true;
  }

  private healthy(): void {
    if (this.degraded)
      this.options.logger.info({ store: this.options.store.kind }, "response cache available again");
    this.degraded = false;
  }
}
