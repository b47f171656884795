import { defineConfig } from "vitest/config";

/**
 * Test files that start a whole gateway (the built bundle, or main.ts's
 * buildDeps in-process), a script, terraform or another child process. On a
 * loaded two-core machine starting one takes tens of seconds, so they run in
 * their own project with timeouts sized for that; everything else is "unit".
 * A new test that spawns a process belongs in this list.
 */
const PROCESS_TESTS = [
  "test/app/main.test.ts",
  "test/app/main-ops.test.ts",
  "test/app/main-secrets.test.ts",
  "test/app/readiness.test.ts",
  "test/app/ops-wiring.test.ts",
  "test/app/http-property.test.ts",
  "test/app/http-server.test.ts",
  "test/app/shutdown-budget.test.ts",
  "test/app/jobs/slot-isolation.test.ts",
  "test/app/middleware/maintenance.test.ts",
  "test/app/security/canary.test.ts",
  "test/app/ledger/dead-letter-alert.test.ts",
  "test/app/ledger/ledger-health.test.ts",
  "test/app/ledger/retention.test.ts",
  "test/app/ledger/rollups.test.ts",
  "test/app/ledger/sigkill.test.ts",
  "test/app/ledger/sigterm.test.ts",
  "test/constructs/consumer-app.test.ts",
  "test/constructs/fail-closed.test.ts",
  "test/constructs/library.test.ts",
  "test/constructs/postgres-app-role.test.ts",
  "test/constructs/redis-roles.test.ts",
  "test/constructs/rollout-gate-terraform.test.ts",
  "test/constructs/secrets-hash.test.ts",
  "test/constructs/gateway-monitoring-promtool.test.ts",
  "test/stacks/main.test.ts",
  "test/scripts/**/*.test.ts",
];

// Tests share one Redis and one Postgres; files run in parallel and isolate
// themselves by key prefix or schema, and each file gets its own DATA_DIR
// (test/setup.ts). No retries: a test that needs one is a bug to fix.
export default defineConfig({
  test: {
    teardownTimeout: 60_000,
    // vitest's default on two cores is one worker, so files ran one at a time
    // while most of a process test's time is waiting on a child process.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: "unit",
          setupFiles: ["test/setup.ts"],
          environment: "node",
          pool: "forks",
          retry: 0,
          env: { CHECKPOINT_DISABLE: "1" },
          include: ["test/**/*.test.ts"],
          exclude: ["**/node_modules/**", ...PROCESS_TESTS],
          // In-process tests; sized so two PGlite start-ups fit on a loaded
          // machine (test/app/ledger/pglite.test.ts took 61 s at a load of 12
          // with three workers). Only bounds a hang: no test asserts on time.
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "process",
          setupFiles: ["test/setup.ts"],
          environment: "node",
          pool: "forks",
          retry: 0,
          env: { CHECKPOINT_DISABLE: "1" },
          include: PROCESS_TESTS,
          // Builds dist/app/server.js once, before any process test, when it is
          // missing or older than app/ or scripts/.
          globalSetup: ["test/global-setup.ts"],
          // Starting a gateway takes ~40 s at a load of 20 on two cores, a
          // preflight run with terraform over 120 s; a test file sets no
          // shorter timeout of its own. These only bound a hang: no test
          // asserts on time.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
