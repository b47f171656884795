import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests share one Redis and one Postgres; files run in parallel and
    // isolate themselves by key prefix or schema.
    pool: "forks",
    env: { CHECKPOINT_DISABLE: "1" },
  },
});
