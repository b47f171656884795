// The gateway's settings checked at synth by the gateway's own loader, and the
// secret keys they make the gateway need.
import { Token } from "cdktf";
import { PROVIDER_KEY_VARIABLES } from "../../app/config/defaults";
import { ConfigError, type GatewayConfig, loadConfig } from "../../app/config/load-config";

/** The construct prop that sets each variable; others come from extraSettings. */
const PROP_OF: Readonly<Record<string, string>> = {
  ENVIRONMENT: "environment",
  PORT: "port",
  AI_PROVIDER: "aiProvider",
  AI_MODEL: "aiModel",
  AI_FALLBACK_PROVIDERS: "aiFallbackProviders",
  AI_TIMEOUT_SECONDS: "aiTimeoutSeconds",
  AI_MAX_RETRIES: "aiMaxRetries",
  LOG_LEVEL: "logLevel",
  AI_CACHE_ENABLED: "cacheEnabled",
  AI_CACHE_TTL_SECONDS: "cacheTtlSeconds",
  AI_MONITORING_ENABLED: "monitoringEnabled",
  AI_DAILY_BUDGET: "dailyBudgetUsd",
  AI_BUDGET_ENFORCE: "budgetEnforce",
  SHUTDOWN_TIMEOUT_SECONDS: "shutdownTimeoutSeconds",
};

// Keys are the secrets' business (checked by requiredSecretKeys and the plan): stand-ins keep
// loadConfig to the settings. Neither value is ever written anywhere.
const KEY_STAND_INS = { GATEWAY_API_KEYS: "synth-check", AI_SECRETS_ID: "synth-check" };

/**
 * Runs the gateway's own config loader on the settings a construct writes, as the pod
 * will at start; throws naming the construct, each bad setting with its prop, and the fix.
 * Values only known at apply (tokens) and `AI_CONFIG_FILE` (a file in the image) are left
 * to the gateway's start-up check.
 */
export function checkGatewaySettings(
  owner: string,
  settings: Readonly<Record<string, string>>,
): GatewayConfig {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (name === "AI_CONFIG_FILE" || Token.isUnresolved(value)) continue;
    env[name] = value;
  }
  try {
    return loadConfig({ ...env, ...KEY_STAND_INS });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.problems.map((problem) => {
      const variable = problem.slice(0, problem.indexOf(":"));
      const prop = PROP_OF[variable] ?? `extraSettings.${variable}`;
      return `  - ${prop} (${problem})`;
    });
    throw new Error(
      `${owner}: the gateway would refuse these settings at start:\n${lines.join("\n")}\nfix the props named above (the gateway's own config loader, app/config/load-config.ts, checked them)`,
    );
  }
}

/**
 * The secret keys the gateway cannot start without under `config`: each routed
 * provider's key (the variable `available` holds, else its first name) and, outside
 * development, `GATEWAY_API_KEYS`.
 */
export function requiredSecretKeys(config: GatewayConfig, available: readonly string[]): string[] {
  if (config.environment === "development") return [];
  const providers = new Set([config.provider, ...config.fallbacks.map((target) => target.provider)]);
  const keys: string[] = [];
  for (const provider of providers) {
    const variables = PROVIDER_KEY_VARIABLES[provider];
    const key = variables.find((variable) => available.includes(variable)) ?? variables[0];
    if (key) keys.push(key);
  }
  return [...new Set(["GATEWAY_API_KEYS", ...keys])];
}
