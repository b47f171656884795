import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigReloader } from "../../../app/config/reload";
import { SecretsRefresher, secretsProblems } from "../../../app/config/secrets";
import { createAlertSink } from "../../../app/observability/alerts";
import { createMetrics } from "../../../app/observability/metrics";
import { FakeSecretsManager } from "../../fakes/secrets-manager";
import { fileDataDir } from "../../helpers/data-dir";
import { testConfig, testDeps } from "../../helpers/deps";

const ENV = {
  ENVIRONMENT: "production",
  GATEWAY_API_KEYS: "gk-canary-client",
  AI_SECRETS_ID: "prod/ai-gateway",
  DATA_DIR: fileDataDir(),
};

describe("secrets from AWS Secrets Manager", () => {
  let fake: FakeSecretsManager;
  const cleanups: (() => unknown)[] = [];
  beforeEach(async () => {
    fake = await FakeSecretsManager.start();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fake.close();
  });

  const build = async (options: { webhook?: string; intervalMs?: number; secretId?: string } = {}) => {
    const deps = testDeps(ENV);
    const metrics = createMetrics({ events: deps.events, config: deps.config, processMetrics: false });
    const reloader = new ConfigReloader({ store: deps.config, env: ENV, logger: deps.logger });
    const client = new SecretsManagerClient(fake.clientConfig());
    cleanups.push(() => client.destroy());
    const refresher = new SecretsRefresher({
      client,
      secretId: options.secretId ?? "prod/ai-gateway",
      logger: deps.logger,
      alert: createAlertSink({ logger: deps.logger, metrics, webhookUrl: options.webhook }),
      apply: (variables) => reloader.setOverlay(variables),
      intervalMs: options.intervalMs ?? 3_600_000,
    });
    cleanups.push(() => refresher.close());
    return { deps, metrics, refresher };
  };

  it("loads the provider key pools and client keys into the config at start", async () => {
    fake.createSecret("prod/ai-gateway", {
      OPENAI_API_KEY_1: "sk-canary-one",
      OPENAI_API_KEY_2: "sk-canary-two",
      CLAUDE_API_KEY: "sk-ant-canary",
      GATEWAY_API_KEYS: "gk-rotated-a,gk-rotated-b",
      UNRELATED: "x",
    });
    const { deps, refresher } = await build();
    await refresher.start();
    const config = deps.config.get();
    expect(config.providers.openai.apiKeys).toEqual(["sk-canary-one", "sk-canary-two"]);
    expect(config.providers.claude.apiKeys).toEqual(["sk-ant-canary"]);
    expect(config.gatewayApiKeys).toEqual(["gk-rotated-a", "gk-rotated-b"]);
    expect(fake.calls("GetSecretValue")).toBe(1);
    const logs = deps.logs.lines.join("\n");
    expect(logs).toContain("provider keys loaded from secrets manager");
    expect(logs).toContain('"ignored":["UNRELATED"]');
    expect(logs).not.toMatch(/sk-canary|sk-ant-canary|gk-rotated/);
  });

  it("uses a rotated key after the next refresh, without a restart", async () => {
    fake.createSecret("prod/ai-gateway", { OPENAI_API_KEY: "sk-old" });
    const { deps, refresher } = await build();
    await refresher.start();
    const before = deps.config.get();
    fake.setSecretValue("prod/ai-gateway", { OPENAI_API_KEY: "sk-new" });
    expect(await refresher.refresh()).toBe(true);
    expect(deps.config.get().providers.openai.apiKeys).toEqual(["sk-new"]);
    // A request that started before keeps the config it read.
    expect(before.providers.openai.apiKeys).toEqual(["sk-old"]);
    expect(deps.logs.lines.join("\n")).toContain("provider keys rotated from secrets manager");
  });

  it("refreshes on its interval", async () => {
    fake.createSecret("prod/ai-gateway", { OPENAI_API_KEY: "sk-1" });
    const { deps, refresher } = await build({ intervalMs: 20 });
    await refresher.start();
    fake.setSecretValue("prod/ai-gateway", { OPENAI_API_KEY: "sk-2" });
    await vi.waitFor(() => expect(deps.config.get().providers.openai.apiKeys).toEqual(["sk-2"]), {
      timeout: 5_000,
    });
  });

  it("keeps the last good keys through an outage and alerts once (log, metric, webhook)", async () => {
    const received: unknown[] = [];
    const hook = createServer((req, res) => {
      let text = "";
      req.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on("end", () => {
        received.push(JSON.parse(text));
        res.end();
      });
    });
    hook.listen(0, "127.0.0.1");
    await once(hook, "listening");
    cleanups.push(() => hook.close());
    const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;

    fake.createSecret("prod/ai-gateway", { OPENAI_API_KEY: "sk-canary-good" });
    const { deps, refresher, metrics } = await build({ webhook });
    await refresher.start();

    fake.failWith("AccessDeniedException");
    expect(await refresher.refresh()).toBe(false);
    expect(await refresher.refresh()).toBe(false);
    expect(deps.config.get().providers.openai.apiKeys).toEqual(["sk-canary-good"]);
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received[0]).toMatchObject({
      source: "secrets",
      severity: "critical",
      details: { secretId: "prod/ai-gateway", code: "AccessDeniedException" },
    });
    expect(await metrics.render()).toContain('ai_gateway_alerts_total{source="secrets"} 1');
    const failures = deps.logs.records().filter((r) => String(r["msg"]).startsWith("secrets refresh failed"));
    expect(failures).toHaveLength(2);
    expect(failures[0]?.["msg"]).toBe(
      "secrets refresh failed; keeping the last good keys: cannot read secret prod/ai-gateway (AccessDeniedException)",
    );

    fake.failWith(undefined);
    fake.setSecretValue("prod/ai-gateway", { OPENAI_API_KEY: "sk-after" });
    expect(await refresher.refresh()).toBe(true);
    expect(deps.config.get().providers.openai.apiKeys).toEqual(["sk-after"]);
    expect(deps.logs.lines.join("\n")).toContain("secrets refresh recovered");
    expect([...deps.logs.lines, ...received.map((r) => JSON.stringify(r))].join("\n")).not.toContain(
      "sk-canary-good",
    );
  });

  it("fails when the secret does not exist at start, naming it and the AWS error", async () => {
    const { refresher } = await build({ secretId: "prod/missing" });
    await expect(refresher.start()).rejects.toThrow(
      "cannot read secret prod/missing (ResourceNotFoundException)",
    );
  });

  it("fails when the secret is not a JSON object or holds an empty key", async () => {
    fake.createSecret("prod/ai-gateway", "sk-plain-string");
    const { refresher } = await build();
    await expect(refresher.start()).rejects.toThrow("secret prod/ai-gateway is not a JSON object");
    fake.setSecretValue("prod/ai-gateway", { OPENAI_API_KEY: "" });
    await expect(refresher.read()).rejects.toThrow(
      "secret prod/ai-gateway: OPENAI_API_KEY must be non-empty strings",
    );
  });
});

describe("secretsProblems", () => {
  it("names the client keys and every routed provider without a key once the secret is applied", () => {
    const base = testConfig({ ENVIRONMENT: "production", GATEWAY_API_KEYS: "gk", AI_SECRETS_ID: "prod/x" });
    const config = {
      ...base,
      gatewayApiKeys: [],
      providers: { ...base.providers, claude: { ...base.providers.claude, apiKeys: [] } },
    };
    expect(secretsProblems(config)).toEqual([
      "GATEWAY_API_KEYS: missing; required in production: set it or add it to the secret prod/x",
      "openai API key: missing; routing uses openai, and neither the environment nor the secret prod/x has one",
      "claude API key: missing; routing uses claude, and neither the environment nor the secret prod/x has one",
    ]);
    expect(secretsProblems({ ...config, environment: "development" })).toEqual([]);
  });

  it("makes a refresh that drops a needed key keep the last good keys", async () => {
    const fake = await FakeSecretsManager.start();
    try {
      fake.createSecret("prod/ai-gateway", { OPENAI_API_KEY: "sk-good", CLAUDE_API_KEY: "sk-ant" });
      const deps = testDeps(ENV);
      const reloader = new ConfigReloader({
        store: deps.config,
        env: ENV,
        logger: deps.logger,
        validate: secretsProblems,
      });
      const client = new SecretsManagerClient(fake.clientConfig());
      const refresher = new SecretsRefresher({
        client,
        secretId: "prod/ai-gateway",
        logger: deps.logger,
        alert: () => {},
        apply: (variables) => reloader.setOverlay(variables),
      });
      await refresher.start();
      fake.setSecretValue("prod/ai-gateway", { CLAUDE_API_KEY: "sk-ant" });
      await refresher.refresh();
      expect(deps.config.get().providers.openai.apiKeys).toEqual(["sk-good"]);
      refresher.close();
      client.destroy();
    } finally {
      await fake.close();
    }
  });
});
