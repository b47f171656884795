import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { createRedis } from "../data/redis";
import { whenReady } from "../data/when-ready";
import type { MetricsSink } from "../observability/metrics-sink";
import { ResponseCache } from "./response-cache";
import { MemoryCacheStore, type MemoryCacheStoreOptions, RedisCacheStore } from "./store";

export { type CacheKeyInput, cacheKey, canonicalJson } from "./cache-key";
export {
  CACHE_STATUS_HEADER,
  CACHE_TTL_HEADER,
  type CacheDirectives,
  cacheDirectives,
  MAX_CACHE_TTL_SECONDS,
} from "./directives";
export { type Resolved, ResponseCache } from "./response-cache";
export { accumulateChunks, completionToChunks, completionToSse, SSE_DONE, sseFrame } from "./sse";
export { type CachedResponse, type CacheStore, MemoryCacheStore, RedisCacheStore } from "./store";

/** Options of {@link createResponseCache}. */
export interface CreateResponseCacheOptions {
  /** `REDIS_URL`; unset keeps entries in a bounded in-process LRU. */
  readonly redisUrl: string | undefined;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
  /** Prefix of every Redis key. @default "ai:" */
  readonly keyPrefix?: string;
  readonly memory?: MemoryCacheStoreOptions;
}

/** The response cache on Redis or memory (waits briefly for Redis at start); `close` ends its Redis connection. */
export async function createResponseCache(options: CreateResponseCacheOptions): Promise<{
  cache: ResponseCache;
  close(): Promise<void>;
}> {
  const redis: Redis | undefined = options.redisUrl
    ? createRedis({ url: options.redisUrl, logger: options.logger, name: "cache" })
    : undefined;
  const store = redis
    ? new RedisCacheStore(redis, options.keyPrefix ?? "ai:")
    : new MemoryCacheStore(options.memory);
  if (redis) await whenReady(redis);
  const cache = new ResponseCache({ store, logger: options.logger, metrics: options.metrics });
  return {
    cache,
    close: async () => {
      redis?.disconnect();
    },
  };
}
