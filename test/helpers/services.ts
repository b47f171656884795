/** The shared Redis the tests use (CI sets REDIS_URL). */
export const REDIS_URL = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
/** The shared Postgres the tests use (CI sets DATABASE_URL). */
export const DATABASE_URL = process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A unique key prefix for one test's Redis keys. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${Math.random().toString(36).slice(2, 10)}`;
}
