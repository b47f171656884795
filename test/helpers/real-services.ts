import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Client } from "pg";

/** The Redis the tests share (CI sets REDIS_URL). */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
/** The Postgres the tests share (CI sets DATABASE_URL). */
export const DATABASE_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A random suffix for names other tests running at the same time never use. */
export function uniqueId(): string {
  return randomBytes(5).toString("hex");
}

/** Deletes every Redis key matching `pattern` (a test's own keys, never anyone else's). */
async function deleteMatching(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** A unique Redis key prefix and the function that deletes every key under it. */
export function redisPrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `test:${uniqueId()}:`;
  return { prefix, cleanup: () => deleteMatching(`${prefix}*`) };
}

/** A unique key prefix (no trailing colon) for one test's Redis keys, named after the test. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${uniqueId()}`;
}

/** Deletes every key under `prefix` (as `uniquePrefix` returns it). */
export function deleteKeys(prefix: string): Promise<void> {
  return deleteMatching(`${prefix}:*`);
}

/** A unique Postgres schema name and the function that drops it. */
export function pgSchema(): { schema: string; cleanup(): Promise<void> } {
  const schema = `test_ledger_${uniqueId()}`;
  return {
    schema,
    cleanup: async () => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs `work` on one Postgres connection to `url` (default DATABASE_URL), then closes it. */
export async function withPostgres<T>(work: (client: Client) => Promise<T>, url = DATABASE_URL): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh temporary directory and the function that removes it. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ai-ledger-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Re-exported so both helper modules hand out the one proxy. */
export { TcpProxy } from "./tcp-proxy";
