import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadtestReport } from "../../scripts/loadtest";
import { type FakeUpstream, startOpenAIFake } from "../fakes";
import { type BuiltGateway, ROOT, startBuiltGateway } from "../helpers/built";
import { seedLedger } from "../helpers/data-dir";
import { DATABASE_URL, pgSchema, REDIS_URL, uniqueId, withPostgres } from "../helpers/real-services";

// scripts/loadtest.ts against the built gateway on loopback, in front of the
// OpenAI fake, with its ledger in Postgres and its cache in Redis.
const KEY = `gk-loadtest-${uniqueId()}`;
// Every fake answer reports 12 input and 5 output tokens; gpt-4o costs 2.50 and 10.00 USD per million.
const COST_PER_CALL_USD = (12 * 2.5 + 5 * 10) / 1_000_000;

let fake: FakeUpstream;
let gateway: BuiltGateway;
const dataDir = mkdtempSync(join(tmpdir(), "loadtest-"));
const schema = pgSchema();

function loadtest(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "scripts/loadtest.ts"), ...args],
      { cwd: ROOT, env: { PATH: process.env["PATH"] ?? "" } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  fake = await startOpenAIFake();
  // The gateway migrates inside the schema its search_path names; the schema itself is the operator's.
  await withPostgres((client) => client.query(`CREATE SCHEMA ${schema.schema}`));
  const databaseUrl = new URL(DATABASE_URL);
  databaseUrl.searchParams.set("options", `-c search_path=${schema.schema}`);
  gateway = await startBuiltGateway({
    ENVIRONMENT: "development",
    GATEWAY_API_KEYS: KEY,
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    OPENAI_API_KEY: "sk-test-openai-1",
    OPENAI_BASE_URL: `${fake.origin}/v1`,
    AI_CACHE_ENABLED: "true",
    REDIS_URL,
    DATABASE_URL: databaseUrl.toString(),
    DATA_DIR: seedLedger(dataDir),
  });
});

afterAll(async () => {
  if (gateway && gateway.child.exitCode === null) {
    const exited = once(gateway.child, "exit");
    gateway.child.kill("SIGTERM");
    await exited;
  }
  await fake?.close();
  await schema.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("scripts/loadtest.ts", () => {
  it("sends rate × duration requests with the mix and reports latency, statuses, headers and the cost from /v1/usage", async () => {
    const result = await loadtest([
      "--url",
      gateway.url,
      "--key",
      KEY,
      "--rate",
      "20",
      "--duration",
      "2",
      "--stream",
      "--model",
      "gpt-4o",
      "--max-error-rate",
      "0",
      "--json",
    ]);
    expect(result.stderr).toMatch(/\[ {3}1 s\] sent \d+\/40/);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as LoadtestReport;
    expect(report).toMatchObject({ sent: 40, completed: 40, ok: 40, errorRate: 0, byStatus: { "200": 40 } });
    // Three in ten stream (slots 1, 5 and 8); each of them reports a time to first token.
    expect(report.streamed).toBe(12);
    expect(report.ttftMs.count).toBe(12);
    expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50);
    expect(report.headers["x-ai-provider"]).toEqual({ openai: 40 });
    const cache = report.headers["x-ai-cache"]!;
    expect(Object.values(cache).reduce((sum, count) => sum + count, 0)).toBe(40);
    const hits = cache["hit"] ?? 0;
    // Every answer that was not a cache hit reached the upstream exactly once (no retries).
    expect(fake.chatRequests()).toHaveLength(40 - hits);
    expect(report.retriedOrFellBack).toBe(0);
    expect(report.usage).toEqual({
      requests: 40,
      cacheHits: hits,
      tokens: (40 - hits) * 17,
      costUsd: Math.round((40 - hits) * COST_PER_CALL_USD * 1e12) / 1e12,
      settled: true,
    });
    expect(report.thresholds).toEqual([{ name: "error rate", limit: 0, actual: 0, ok: true }]);
  });

  it("exits 1 when the p99 threshold is missed, and prints the report as text", async () => {
    const result = await loadtest([
      "--url",
      gateway.url,
      "--key",
      KEY,
      "--rate",
      "5",
      "--duration",
      "1",
      "--max-p99-ms",
      "0.001",
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("requests: 5 sent, 5 answered, 5 2xx, 0 streamed; error rate 0.00 %");
    expect(result.stdout).toMatch(/FAIL p99 latency ms: [\d.]+ \(limit 0\.001\)/);
    expect(result.stderr).toMatch(/loadtest: threshold missed: p99 latency ms [\d.]+ > 0\.001/);
  });

  it("counts errors by status and exits 1 when the error rate is over the limit", async () => {
    const result = await loadtest([
      "--url",
      gateway.url,
      "--key",
      "gk-not-a-client-key",
      "--rate",
      "10",
      "--duration",
      "1",
      "--max-error-rate",
      "0.5",
      "--json",
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as LoadtestReport;
    expect(report).toMatchObject({ sent: 10, completed: 10, ok: 0, errorRate: 1, byStatus: { "401": 10 } });
    expect(report.usage).toEqual({ error: "GET /v1/usage answered 401" });
    expect(report.thresholds).toEqual([{ name: "error rate", limit: 0.5, actual: 1, ok: false }]);
    expect(result.stderr).toContain("loadtest: threshold missed: error rate 1 > 0.5");
  });

  it("fails when a required argument is missing, naming it", async () => {
    const result = await loadtest(["--url", gateway.url, "--key", KEY, "--duration", "1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--rate is required\nusage: npm run loadtest -- --url <gateway>");
  });
});
