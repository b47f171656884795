import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../app/config/load-config";

function problemsOf(env: Record<string, string>, readFile?: (path: string) => string): string[] {
  try {
    loadConfig(env, readFile ? { readFile } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected loadConfig to fail");
}

const PROD_OK = {
  ENVIRONMENT: "production",
  OPENAI_API_KEY: "sk-live-canary-openai",
  CLAUDE_API_KEY: "sk-ant-canary-claude",
  GATEWAY_API_KEYS: "client-key-1",
};

describe("loadConfig", () => {
  it("applies the guide's development defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      environment: "development",
      port: 8080,
      host: "0.0.0.0",
      provider: "ollama",
      model: "llama3.2:3b",
      fallbacks: [],
      timeoutSeconds: 30,
      maxRetries: 1,
      logLevel: "debug",
      dailyBudgetUsd: 100,
      budgetEnforce: false,
      breakerThreshold: 5,
      breakerCooldownSeconds: 60,
      gatewayApiKeys: [],
    });
    expect(config.providers.ollama.baseUrl).toBe("http://127.0.0.1:11434");
  });

  it("applies the staging defaults", () => {
    const config = loadConfig({ ENVIRONMENT: "staging", OPENAI_API_KEY: "k", GATEWAY_API_KEYS: "c" });
    expect(config).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      timeoutSeconds: 15,
      maxRetries: 2,
      logLevel: "info",
    });
  });

  it("applies the production defaults with Claude as fallback, caching and monitoring on", () => {
    const config = loadConfig(PROD_OK);
    expect(config).toMatchObject({
      provider: "openai",
      model: "gpt-4o",
      timeoutSeconds: 10,
      maxRetries: 3,
      logLevel: "warn",
      cachingEnabled: true,
      monitoringEnabled: true,
    });
    expect(config.fallbacks).toEqual([{ provider: "claude", model: "claude-3-5-haiku-latest" }]);
  });

  it("reads key pools in order and accepts ANTHROPIC_API_KEY for Claude", () => {
    const config = loadConfig({ OPENAI_API_KEY_1: "a", OPENAI_API_KEY_2: "b", ANTHROPIC_API_KEY: "c" });
    expect(config.providers.openai.apiKeys).toEqual(["a", "b"]);
    expect(config.providers.claude.apiKeys).toEqual(["c"]);
  });

  it("parses fallbacks as provider or provider/model", () => {
    const config = loadConfig({ AI_FALLBACK_PROVIDERS: "claude/claude-3-haiku, gemini" });
    expect(config.fallbacks).toEqual([
      { provider: "claude", model: "claude-3-haiku" },
      { provider: "gemini", model: "gemini-1.5-flash" },
    ]);
  });

  it("overrides base URLs from *_BASE_URL", () => {
    expect(loadConfig({ OPENAI_BASE_URL: "http://127.0.0.1:9999/v1" }).providers.openai.baseUrl).toBe(
      "http://127.0.0.1:9999/v1",
    );
  });

  it("does not require keys in development", () => {
    expect(() => loadConfig({ AI_PROVIDER: "openai" })).not.toThrow();
  });

  it("fails when production lacks provider keys and client keys, naming each", () => {
    expect(problemsOf({ ENVIRONMENT: "production" })).toEqual([
      "GATEWAY_API_KEYS: missing; required in production (a comma list of client keys)",
      "OPENAI_API_KEY: missing; required in production because routing uses openai (or set AI_SECRETS_ID)",
      "CLAUDE_API_KEY or ANTHROPIC_API_KEY: missing; required in production because routing uses claude (or set AI_SECRETS_ID)",
    ]);
  });

  it("accepts production keys from AWS Secrets Manager when AI_SECRETS_ID is set", () => {
    const config = loadConfig({ ENVIRONMENT: "production", AI_SECRETS_ID: "prod/ai-gateway" });
    expect(config.secretsId).toBe("prod/ai-gateway");
    expect(config.gatewayApiKeys).toEqual([]);
  });

  it("fails when ENVIRONMENT is unknown, naming the value and what is allowed", () => {
    expect(problemsOf({ ENVIRONMENT: "prod" })).toEqual([
      'ENVIRONMENT: "prod" is not allowed; use one of development, staging, production',
    ]);
  });

  it("fails when AI_TIMEOUT_SECONDS is not a number", () => {
    expect(problemsOf({ AI_TIMEOUT_SECONDS: "ten" })).toEqual([
      'AI_TIMEOUT_SECONDS: "ten" is not allowed; expected a positive number of seconds',
    ]);
  });

  it("names every invalid setting at once", () => {
    const problems = problemsOf({
      ENVIRONMENT: "staging",
      AI_MAX_RETRIES: "-1",
      AI_PROVIDER: "bard",
      AI_BUDGET_ENFORCE: "maybe",
      PORT: "http",
    });
    expect(problems).toEqual([
      'PORT: "http" is not allowed; expected a port number from 0 to 65535',
      'AI_PROVIDER: "bard" is not a provider; use one of openai, claude, gemini, groq, ollama',
      'AI_MAX_RETRIES: "-1" is not allowed; expected a whole number, 0 or more',
      'AI_BUDGET_ENFORCE: "maybe" is not allowed; expected true or false',
      "GATEWAY_API_KEYS: missing; required in staging (a comma list of client keys)",
      "OPENAI_API_KEY: missing; required in staging because routing uses openai (or set AI_SECRETS_ID)",
    ]);
  });

  it("fails when AI_CONFIG_FILE is malformed JSON", () => {
    const problems = problemsOf({ AI_CONFIG_FILE: "/etc/ai.json" }, () => "{ routes: ");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^AI_CONFIG_FILE \(\/etc\/ai\.json\): not valid JSON \(/);
  });

  it("fails when AI_CONFIG_FILE has a negative or non-numeric price", () => {
    const file = JSON.stringify({ prices: { openai: { "gpt-4o": { input: -1, output: "ten" } } } });
    expect(problemsOf({ AI_CONFIG_FILE: "/etc/ai.json" }, () => file)).toEqual([
      "AI_CONFIG_FILE (/etc/ai.json): prices.openai.gpt-4o.input: must not be negative",
      "AI_CONFIG_FILE (/etc/ai.json): prices.openai.gpt-4o.output: must be a number of USD per million tokens",
    ]);
  });

  it("fails when AI_CONFIG_FILE cannot be read", () => {
    expect(problemsOf({ AI_CONFIG_FILE: "/nonexistent/ai.json" })).toEqual([
      'AI_CONFIG_FILE: "/nonexistent/ai.json" cannot be read (ENOENT); point it at a readable JSON file',
    ]);
  });

  it("loads routes from AI_CONFIG_FILE", () => {
    const file = JSON.stringify({
      routes: { smart: { targets: [{ provider: "openai", model: "gpt-4o" }] } },
    });
    const config = loadConfig({ AI_CONFIG_FILE: "/etc/ai.json" }, { readFile: () => file });
    expect(config.file.routes["smart"]).toEqual({
      targets: [{ provider: "openai", model: "gpt-4o" }],
      strategy: "ordered",
    });
  });

  it("never prints a secret in its message", () => {
    const canaries = {
      OPENAI_API_KEY: "sk-canary-0000",
      GATEWAY_API_KEYS: "gw-canary-1111",
      DATABASE_URL: "not a url with password canary-2222",
      REDIS_URL: "redis canary-3333",
      ALERT_WEBHOOK_URL: "hooks canary-4444",
    };
    let message = "";
    try {
      loadConfig({ ENVIRONMENT: "production", AI_TIMEOUT_SECONDS: "x", ...canaries });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("DATABASE_URL");
    for (const value of ["canary-0000", "canary-1111", "canary-2222", "canary-3333", "canary-4444"]) {
      expect(message).not.toContain(value);
    }
  });
});
