import type { Redis } from "ioredis";

/**
 * Resolves true once the client is connected, false after `timeoutMs`. The
 * request-path client refuses commands until then (no offline queue), so
 * callers wait for it at start; a Redis that is down never blocks startup.
 */
export function whenReady(redis: Redis, timeoutMs = 2_000): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    redis.on("ready", onReady);
  });
}
