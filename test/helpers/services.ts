import { Redis } from "ioredis";

/** The shared Redis the tests use (CI sets REDIS_URL). */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
/** The shared Postgres the tests use (CI sets DATABASE_URL). */
export const DATABASE_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A unique key prefix for one test's Redis keys. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${Math.random().toString(36).slice(2, 10)}`;
}

/** Deletes every key under `prefix` (a test's own keys, never anyone else's). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
