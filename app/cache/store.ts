import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import type { ChatCompletion } from "../chat/types";

/** A cached answer: the OpenAI completion and who produced it. */
export interface CachedResponse {
  readonly provider: string;
  readonly model: string;
  readonly completion: ChatCompletion;
  /** Epoch milliseconds when it was stored. */
  readonly storedAt: number;
  /**
   * Epoch milliseconds when it stops being fresh. The store keeps it until
   * `staleUntil` (TTL + `AI_CACHE_STALE_IF_ERROR_SECONDS`); in between it is
   * served only when every provider fails. Absent on entries written before
   * stale serving: fresh while the store holds them.
   */
  readonly expiresAt?: number;
  /** Epoch milliseconds after which not even an outage serves it. */
  readonly staleUntil?: number;
}

/**
 * Where entries live: Redis (shared by replicas) or this process's memory.
 * `ttlSeconds` is how long the store keeps an entry: its TTL plus the
 * stale-if-error window (the response cache decides freshness from `expiresAt`).
 */
export interface CacheStore {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<CachedResponse | undefined>;
  set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void>;
}

/** Entries in Redis under `<prefix>cache:<sha256>`, expiring with `EX`. */
export class RedisCacheStore implements CacheStore {
  readonly kind = "redis";

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(key: string): Promise<CachedResponse | undefined> {
    const text = await this.redis.get(this.key(key));
    return text === null ? undefined : parseEntry(text);
  }

  async set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(key), JSON.stringify(value), "EX", ttlSeconds);
  }

  private key(key: string): string {
    return `${this.prefix}cache:${key}`;
  }
}

/** Options of {@link MemoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** Most entries kept. @default 1000 */
  readonly maxEntries?: number;
  /** Most bytes (of JSON) kept. @default 64 MiB */
  readonly maxBytes?: number;
  /** The time source for TTLs; tests pass a controllable clock. */
  readonly clock?: { now(): number };
}

/** A bounded in-process LRU; entries are stored as JSON so no caller can mutate a shared one. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = "memory";
  private readonly lru: LRUCache<string, string>;

  constructor(options: MemoryCacheStoreOptions = {}) {
    const clock = options.clock;
    this.lru = new LRUCache<string, string>({
      max: options.maxEntries ?? 1000,
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (text) => Math.max(1, text.length),
      ttlAutopurge: false,
      // Read the clock on every check (no cached time), so an injected clock is exact.
      ttlResolution: 0,
      ...(clock ? { perf: { now: () => clock.now() } } : {}),
    });
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    const text = this.lru.get(key);
    return text === undefined ? undefined : parseEntry(text);
  }

  async set(key: string, value: CachedResponse, ttlSeconds: number): Promise<void> {
    this.lru.set(key, JSON.stringify(value), { ttl: ttlSeconds * 1000 });
  }
}

function parseEntry(text: string): CachedResponse | undefined {
  try {
    const entry = JSON.parse(text) as CachedResponse;
    // An entry that is not an object with a completion is treated as a miss.
    return entry && typeof entry === "object" && entry.completion?.object === "chat.completion"
      ? entry
      : undefined;
  } catch {
    return undefined;
  }
}
