import type { Redis } from "ioredis";

/** Today's spend, shared by every replica (Redis) or kept in this process (memory). */
export interface SpendCounter {
  readonly kind: "redis" | "memory";
  /** Adds pico-dollars to a day's spend atomically; returns the new total. */
  add(day: string, pico: bigint): Promise<bigint>;
  /** A day's spend so far. */
  get(day: string): Promise<bigint>;
  /** Raises a day's spend to at least `pico` (never lowers it); returns the result. */
  raiseTo(day: string, pico: bigint): Promise<bigint>;
  /** True for exactly one caller per key (across replicas with Redis). */
  claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
}

/** Counter keys outlive their day so a late replica still sees it, then expire. */
const DAY_TTL_SECONDS = 2 * 24 * 3600;

// Values are pico-dollars and can pass 2^53, so no Lua number ever touches them:
// INCRBY's reply comes back as a string (ioredis `stringNumbers`) and the
// max-merge compares decimal strings by length, then lexically.
const RAISE_TO = `
local current = redis.call('GET', KEYS[1]) or '0'
local wanted = ARGV[1]
if string.len(wanted) > string.len(current) or (string.len(wanted) == string.len(current) and wanted > current) then
  redis.call('SET', KEYS[1], wanted, 'EX', ARGV[2])
  return wanted
end
return current
`;

/**
 * A spend counter in Redis: one key per UTC day, INCRBY of integer
 * pico-dollars. The client must be created with `stringNumbers: true`.
 */
export class RedisSpendCounter implements SpendCounter {
  readonly kind = "redis";

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async add(day: string, pico: bigint): Promise<bigint> {
    const key = this.key(day);
    const result = await this.redis.multi().incrby(key, pico.toString()).expire(key, DAY_TTL_SECONDS).exec();
    const [error, total] = result?.[0] ?? [new Error("budget counter transaction aborted"), null];
    if (error) throw error;
    return BigInt(String(total));
  }

  async get(day: string): Promise<bigint> {
    return BigInt((await this.redis.get(this.key(day))) ?? "0");
  }

  async raiseTo(day: string, pico: bigint): Promise<bigint> {
    const result = await this.redis.eval(
      RAISE_TO,
      1,
      this.key(day),
      pico.toString(),
      String(DAY_TTL_SECONDS),
    );
    return BigInt(String(result));
  }

  async claimOnce(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}${key}`, "1", "EX", ttlSeconds, "NX")) === "OK";
  }

  private key(day: string): string {
    return `${this.prefix}budget:spend:${day}`;
  }
}

/** The same counter in this process, for a single replica without Redis. */
export class MemorySpendCounter implements SpendCounter {
  readonly kind = "memory";
  private readonly days = new Map<string, bigint>();
  private readonly claimed = new Set<string>();

  async add(day: string, pico: bigint): Promise<bigint> {
    const total = (this.days.get(day) ?? 0n) + pico;
    this.days.set(day, total);
    this.prune(day);
    return total;
  }

  async get(day: string): Promise<bigint> {
    return this.days.get(day) ?? 0n;
  }

  async raiseTo(day: string, pico: bigint): Promise<bigint> {
    const total = (this.days.get(day) ?? 0n) > pico ? (this.days.get(day) ?? 0n) : pico;
    this.days.set(day, total);
    return total;
  }

  async claimOnce(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  // Keep only recent days so a long-running process does not grow without bound.
  private prune(today: string): void {
    for (const day of this.days.keys()) if (day < today && this.days.size > 3) this.days.delete(day);
  }
}
