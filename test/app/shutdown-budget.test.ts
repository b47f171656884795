import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVIRONMENT_DEFAULTS } from "../../app/config/defaults";
import {
  drainDeadlineMs,
  longestRequestSeconds,
  type ShutdownSettings,
  shutdownBudget,
} from "../../app/shutdown-budget";
import { type FakeUpstream, startOpenAIFake } from "../fakes";
import { ensureBuilt, startBuiltGateway } from "../helpers/built";
import { seedLedger } from "../helpers/data-dir";
import { tempDir } from "../helpers/real-services";

const settingsOf = (name: keyof typeof ENVIRONMENT_DEFAULTS): ShutdownSettings => ({
  timeoutSeconds: ENVIRONMENT_DEFAULTS[name].timeoutSeconds,
  maxRetries: ENVIRONMENT_DEFAULTS[name].maxRetries,
  fallbackCount: ENVIRONMENT_DEFAULTS[name].fallbacks.length,
});

describe("shutdown budget arithmetic", () => {
  it("production: 10 s × 4 attempts + 3 backoffs of 8 s, for gpt-4o and the Claude fallback", () => {
    expect(longestRequestSeconds(settingsOf("production"))).toBe(2 * (4 * 10 + 3 * 8));
    expect(shutdownBudget(settingsOf("production"))).toEqual({
      longestRequestSeconds: 128,
      preStopSeconds: 5,
      httpDrainSeconds: 128,
      queueCloseSeconds: 5,
      ledgerFlushSeconds: 5,
      marginSeconds: 5,
      shutdownTimeoutSeconds: 128 + 5 + 5,
      terminationGracePeriodSeconds: 5 + 128 + 5 + 5 + 5,
    });
  });

  it("staging: 15 s × 3 attempts + 2 backoffs, no fallback", () => {
    const budget = shutdownBudget(settingsOf("staging"));
    expect(budget.longestRequestSeconds).toBe(3 * 15 + 2 * 8);
    expect(budget.terminationGracePeriodSeconds).toBe(5 + 61 + 5 + 5 + 5);
  });

  it("an explicit deadline keeps preStop and margin around it and shrinks only the drain", () => {
    const budget = shutdownBudget({ timeoutSeconds: 1, maxRetries: 0, fallbackCount: 0 }, 40);
    expect(budget).toMatchObject({ shutdownTimeoutSeconds: 40, httpDrainSeconds: 30 });
    expect(budget.terminationGracePeriodSeconds).toBe(50);
  });

  it("the app's HTTP drain leaves the queue close and ledger flush their share of one deadline", () => {
    expect(drainDeadlineMs(138_000)).toBe(128_000);
    // A short deadline gives the later steps at most half.
    expect(drainDeadlineMs(4_000)).toBe(2_000);
  });
});

describe("the built gateway under SIGTERM with a long request in flight", () => {
  let openai: FakeUpstream;
  let child: ChildProcess | undefined;
  const data = tempDir();
  beforeAll(async () => {
    ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
    openai = await startOpenAIFake();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await openai.close();
    data.cleanup();
  });

  it("finishes a request that times out once and retries, flushes, and exits 0 within its own deadline", async () => {
    const settings = { timeoutSeconds: 2, maxRetries: 1, fallbackCount: 0 };
    const budget = shutdownBudget(settings);
    // The first attempt hangs to its per-attempt timeout, the retry answers slowly.
    openai.script({ kind: "hang" }, { kind: "answer", text: "finished while draining", delayMs: 1_000 });
    const gateway = await startBuiltGateway({
      DATA_DIR: seedLedger(data.dir),
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      OPENAI_API_KEY: "sk-test-shutdown",
      OPENAI_BASE_URL: `${openai.origin}/v1`,
      AI_TIMEOUT_SECONDS: String(settings.timeoutSeconds),
      AI_MAX_RETRIES: String(settings.maxRetries),
      SHUTDOWN_TIMEOUT_SECONDS: String(budget.shutdownTimeoutSeconds),
    });
    child = gateway.child;
    const { records } = gateway;
    const inFlight = fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });
    await openai.waitForRequests(1);
    child.kill("SIGTERM");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ai-attempts")).toBe("2");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    const done = records.find((record) => record["msg"] === "shutdown steps done");
    expect(done?.["deadlineMs"]).toBe(budget.shutdownTimeoutSeconds * 1000);
    expect(done?.["elapsedMs"] as number).toBeLessThan(budget.shutdownTimeoutSeconds * 1000);
    expect(
      records.some((record) => record["msg"] === "shutdown deadline reached; closing remaining connections"),
    ).toBe(false);
  });
});
