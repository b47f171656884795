import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { FakeSecretsManager } from "../fakes/secrets-manager";
import { listening, start } from "../helpers/bundle-child";

// Its own file: three gateway starts, run beside main-ops.test.ts's instead of after them.
describe("main: provider keys from Secrets Manager", () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("loads provider keys from Secrets Manager at start, and fails fast when the secret is unreadable", async () => {
    const fake = await FakeSecretsManager.start();
    cleanups.push(() => fake.close());
    fake.createSecret("prod/gw", {
      OPENAI_API_KEY: "sk-canary-from-secret",
      CLAUDE_API_KEY: "sk-ant-canary-secret",
    });
    const aws = {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAFAKE",
      AWS_SECRET_ACCESS_KEY: "fake",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.endpoint,
      AWS_MAX_ATTEMPTS: "1",
    };
    const env = {
      ENVIRONMENT: "production",
      GATEWAY_API_KEYS: "gk-main-test",
      AI_SECRETS_ID: "prod/gw",
      ...aws,
    };
    const good = start(env);
    children.push(good.process);
    await listening(good);
    expect(good.lines.some((line) => line["msg"] === "provider keys loaded from secrets manager")).toBe(true);
    expect(fake.calls("GetSecretValue")).toBe(1);
    good.process.kill("SIGTERM");
    await once(good.process, "exit");

    const bad = start({ ...env, AI_SECRETS_ID: "prod/absent" });
    children.push(bad.process);
    let stderr = "";
    bad.process.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(bad.process, "exit");
    expect(code).toBe(1);
    expect(stderr).toContain(
      "gateway failed to start: cannot read secret prod/absent (ResourceNotFoundException)",
    );
    expect(JSON.stringify(good.lines) + stderr).not.toContain("sk-canary-from-secret");

    // A secret without a key for the routed provider cannot serve: refuse to start.
    fake.createSecret("prod/keyless", { GROQ_API_KEY: "gsk-canary-unused" });
    const incomplete = start({ ...env, AI_SECRETS_ID: "prod/keyless" });
    children.push(incomplete.process);
    let incompleteErr = "";
    incomplete.process.stderr!.on("data", (chunk: Buffer) => {
      incompleteErr += chunk.toString();
    });
    expect((await once(incomplete.process, "exit"))[0]).toBe(1);
    expect(incompleteErr).toContain(
      "openai API key: missing; routing uses openai, and neither the environment nor the secret prod/keyless has one",
    );
    expect(incompleteErr).not.toContain("gsk-canary-unused");
    // Three gateway starts in one test on a loaded machine.
  }, 600_000);
});
