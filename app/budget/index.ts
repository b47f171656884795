import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ConfigStore } from "../config/config-store";
import { createRedis } from "../data/redis";
import { whenReady } from "../data/when-ready";
import type { MetricsSink } from "../observability/metrics-sink";
import { Budget, type PriceFn } from "./budget";
import { MemorySpendCounter, RedisSpendCounter } from "./spend-counter";

export {
  Budget,
  type BudgetAlert,
  type BudgetSettings,
  type BudgetStatus,
  type PriceFn,
  type Reservation,
} from "./budget";
export { MemorySpendCounter, RedisSpendCounter, type SpendCounter } from "./spend-counter";

/** Options of {@link createBudget}. */
export interface CreateBudgetOptions {
  readonly config: ConfigStore;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
  readonly clock?: { now(): number };
  /** Today's spend in the ledger, to reseed from. */
  readonly ledgerSpent?: (day: string) => Promise<bigint>;
  /** Prices a call's worst case for reservations (the ledger's `price`). */
  readonly price?: PriceFn;
  /** Prefix of every Redis key. @default "ai:" */
  readonly keyPrefix?: string;
  readonly fetch?: typeof fetch;
}

/**
 * The daily budget: counted in Redis when `REDIS_URL` is set (shared by every
 * replica), in this process otherwise. Reseeds from the ledger at start and
 * each time Redis comes back. `close` ends its Redis connection.
 */
export async function createBudget(
  options: CreateBudgetOptions,
): Promise<{ budget: Budget; close(): Promise<void> }> {
  const config = options.config.get();
  const redis: Redis | undefined = config.redisUrl
    ? createRedis({
        url: config.redisUrl,
        logger: options.logger,
        name: "budget",
        // Pico-dollar totals pass 2^53: read integer replies as strings.
        overrides: { stringNumbers: true },
      })
    : undefined;
  const counter = redis ? new RedisSpendCounter(redis, options.keyPrefix ?? "ai:") : new MemorySpendCounter();
  const budget = new Budget({
    counter,
    settings: () => options.config.get(),
    logger: options.logger,
    metrics: options.metrics,
    clock: options.clock,
    ledgerSpent: options.ledgerSpent,
    price: options.price,
    fetch: options.fetch,
  });
  if (redis) {
    await whenReady(redis);
    // Every later "ready" is a (re)connection: Redis may have lost the counter meanwhile.
    redis.on("ready", () => void budget.reseed());
  }
  await budget.reseed();
  return {
    budget,
    close: async () => {
      await budget.idle();
      redis?.disconnect();
    },
  };
}
