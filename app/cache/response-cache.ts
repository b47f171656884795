import type { Logger } from "pino";
import { METRIC } from "../observability/metric-names";
import { type MetricsSink, noopMetrics } from "../observability/metrics-sink";
import type { CacheDirectives } from "./directives";
import type { CachedResponse, CacheStore } from "./store";

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  readonly store: CacheStore;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
}

/** What {@link ResponseCache.resolve} did. */
export interface Resolved<T> {
  /** `hit`: from the cache; `miss`: produced (or shared from an identical request in flight); `bypass`: lookup skipped. */
  readonly outcome: "hit" | "miss" | "bypass";
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

  /** The entry for a key, or undefined on a miss or a store error. */
  async get(key: string): Promise<CachedResponse | undefined> {
    const store = this.options.store.kind;
    try {
      const entry = await this.options.store.get(key);
      this.healthy();
      this.metrics.inc(entry ? METRIC.cacheHits : METRIC.cacheMisses, { store });
      return entry;
    } catch (error) {
      this.failed("get", error);
      this.metrics.inc(METRIC.cacheMisses, { store });
      return undefined;
    }
  }

  /** Stores an entry; a store error is reported and swallowed. */
  async set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    try {
      await this.options.store.set(key, value, ttlSeconds);
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
    } = {},
  ): Promise<Resolved<T>> {
    if (!directives.lookup) {
      await options.onMiss?.();
      const result = await produce();
      if (directives.write && result.entry) await this.set(key, result.entry, directives.ttlSeconds);
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
      if (entry) return { outcome: "miss", cached: entry, shared: true };
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
      if (directives.write && result.entry) await this.set(key, result.entry, directives.ttlSeconds);
      settle.resolve(directives.write ? result.entry : undefined);
      return { outcome: "miss", produced: result.value, shared: false };
    } catch (error) {
      if (options.shareError?.(error) ?? true) settle.reject(error);
      else settle.resolve(undefined);
      throw error;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
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
