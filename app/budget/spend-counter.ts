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
  /**
   * Atomically reserves `pico` of a day's budget under `id` unless spend plus
   * every live reservation plus `pico` would pass `limitPico`; false when
   * refused. A reservation not released lapses after `ttlMs` (a replica that
   * died mid-call does not hold budget forever).
   */
  reserve(request: ReserveRequest): Promise<boolean>;
  /** Releases a reservation (once its call is settled: its real cost is in the spend). */
  release(day: string, id: string, pico: bigint): Promise<void>;
}

/** What {@link SpendCounter.reserve} reserves: `pico` of `day` under `id`, against `limitPico`. */
export interface ReserveRequest {
  readonly day: string;
  readonly id: string;
  readonly pico: bigint;
  readonly limitPico: bigint;
  readonly ttlMs: number;
  readonly nowMs: number;
}

/** Reservations are compared in nano-dollars: exact as Lua doubles up to 9 million USD. */
const PICO_PER_NANO = 1000n;

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

// One script shared by every replica, so the check and the reservation are one
// atomic step: drop lapsed reservations, sum the live ones (members are
// "<id>|<nano-dollars>", scored by when they lapse), add today's spend (pico,
// cut to nano), and reserve only if the total stays within the limit.
const RESERVE = `
local now = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(member, '|(%d+)$'))
end
local spent = redis.call('GET', KEYS[1]) or '0'
local spentNano = 0
if string.len(spent) > 3 then spentNano = tonumber(string.sub(spent, 1, -4)) end
local amount = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if spentNano + reserved + amount > limit or spentNano + reserved >= limit then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[1] .. '|' .. ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return 1
`;

// INCRBY and EXPIRE as one command (a MULTI/EXEC sends four, issue 17). INCRBY's
// reply would become a Lua number, so the total comes back from a GET, as a string.
const ADD = `
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('GET', KEYS[1])
`;

/** The scripts as ioredis commands (`defineCommand`): EVAL once per connection, then EVALSHA. */
/** The client once the two scripts are defined on it (ioredis adds one method per defined command). */
interface BudgetCommands extends Redis {
  aiBudgetAdd(key: string, pico: string, ttlSeconds: string): Promise<unknown>;
  aiBudgetReserve(spendKey: string, reservationsKey: string, ...args: string[]): Promise<unknown>;
}

function toNano(pico: bigint, round: "up" | "down"): string {
  const nano = pico / PICO_PER_NANO;
  return String(round === "up" && nano * PICO_PER_NANO < pico ? nano + 1n : nano);
}

/**
 * A spend counter in Redis: one key per UTC day, INCRBY of integer
 * pico-dollars. The client must be created with `stringNumbers: true`.
 */
export class RedisSpendCounter implements SpendCounter {
  readonly kind = "redis";

  private readonly scripts: BudgetCommands;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    // ioredis sends a defined command as EVAL the first time on each connection
    // and as EVALSHA after that, in order with every other command on it (only
    // the retry after a NOSCRIPT, Redis having lost its scripts, goes later): the
    // script text (hundreds of bytes) is no longer written with every request.
    redis.defineCommand("aiBudgetAdd", { numberOfKeys: 1, lua: ADD });
    redis.defineCommand("aiBudgetReserve", { numberOfKeys: 2, lua: RESERVE });
    this.scripts = redis as BudgetCommands;
  }

  async add(day: string, pico: bigint): Promise<bigint> {
    const total = await this.scripts.aiBudgetAdd(this.key(day), pico.toString(), String(DAY_TTL_SECONDS));
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

  async reserve({ day, id, pico, limitPico, ttlMs, nowMs }: ReserveRequest): Promise<boolean> {
    // A defined command stays in order with the script that records spend on
    // this one connection (see the constructor), so a release never overtakes it.
    const result = await this.scripts.aiBudgetReserve(
      this.key(day),
      this.reservationsKey(day),
      id,
      toNano(pico, "up"),
      toNano(limitPico, "down"),
      String(nowMs),
      String(ttlMs),
      String(DAY_TTL_SECONDS),
    );
    return String(result) === "1";
  }

  async release(day: string, id: string, pico: bigint): Promise<void> {
    await this.redis.zrem(this.reservationsKey(day), `${id}|${toNano(pico, "up")}`);
  }

  private key(day: string): string {
    return `${this.prefix}budget:spend:${day}`;
  }

  private reservationsKey(day: string): string {
    return `${this.prefix}budget:reserved:${day}`;
  }
}

/** The same counter in this process, for a single replica without Redis. */
export class MemorySpendCounter implements SpendCounter {
  readonly kind = "memory";
  private readonly days = new Map<string, bigint>();
  private readonly claimed = new Set<string>();
  private readonly reservations = new Map<string, { pico: bigint; until: number }>();

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

  async reserve({ day, id, pico, limitPico, ttlMs, nowMs }: ReserveRequest): Promise<boolean> {
    let reserved = 0n;
    for (const [key, reservation] of this.reservations) {
      if (reservation.until <= nowMs) this.reservations.delete(key);
      else if (key.startsWith(`${day}|`)) reserved += reservation.pico;
    }
    const spent = (this.days.get(day) ?? 0n) + reserved;
    if (spent + pico > limitPico || spent >= limitPico) return false;
    this.reservations.set(`${day}|${id}`, { pico, until: nowMs + ttlMs });
    return true;
  }

  async release(day: string, id: string): Promise<void> {
    this.reservations.delete(`${day}|${id}`);
  }

  // Keep only recent days so a long-running process does not grow without bound.
  private prune(today: string): void {
    for (const day of this.days.keys()) if (day < today && this.days.size > 3) this.days.delete(day);
  }
}
