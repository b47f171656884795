import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";

/** Options of {@link createRedis}. */
export interface CreateRedisOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Shown in logs, so several connections can be told apart. */
  readonly name: string;
  /** Extra ioredis options (BullMQ needs `maxRetriesPerRequest: null`). */
  readonly overrides?: RedisOptions;
}

/**
 * A Redis connection for the request path: commands fail fast while Redis is
 * down (no offline queue, one try per command) instead of stalling requests,
 * and the client keeps reconnecting with capped backoff until Redis returns.
 * Nothing connects until the first command.
 */
export function createRedis(options: CreateRedisOptions): Redis {
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    connectionName: `ai-gateway:${options.name}`,
    ...options.overrides,
  });
  let down = false;
  client.on("error", (error: Error) => {
    // ioredis emits one error per failed reconnect; log the transition only.
    if (!down)
      options.logger.warn({ redis: options.name, err: { message: error.message } }, "redis unavailable");
    down = true;
  });
  client.on("ready", () => {
    if (down) options.logger.info({ redis: options.name }, "redis reconnected");
    down = false;
  });
  void client.connect().catch(() => {
    // Reported through the error event; retryStrategy keeps trying.
  });
  return client;
}
