import type { ProviderName } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import { ClaudeAdapter } from "./claude";
import { GeminiAdapter } from "./gemini";
import { createGroqAdapter } from "./groq";
import { createOllamaAdapter } from "./ollama";
import { createOpenAIAdapter } from "./openai";
import type { ProviderAdapter } from "./types";

export { KeyPools } from "./key-pool";
export type * from "./types";

/** Every provider's adapter, by name. */
export type ProviderRegistry = Readonly<Record<ProviderName, ProviderAdapter>>;

/** Builds one adapter per provider from the configured base URLs. Opens no connection until used. */
export function createProviders(
  config: GatewayConfig,
  options: { now?: () => number } = {},
): ProviderRegistry {
  const { providers, streamIdleTimeoutSeconds } = config;
  return {
    openai: createOpenAIAdapter({ baseUrl: providers.openai.baseUrl, streamIdleTimeoutSeconds }),
    claude: new ClaudeAdapter({
      baseUrl: providers.claude.baseUrl,
      now: options.now,
      streamIdleTimeoutSeconds,
    }),
    gemini: new GeminiAdapter({
      baseUrl: providers.gemini.baseUrl,
      now: options.now,
      streamIdleTimeoutSeconds,
    }),
    groq: createGroqAdapter({ baseUrl: providers.groq.baseUrl, streamIdleTimeoutSeconds }),
    ollama: createOllamaAdapter({ baseUrl: providers.ollama.baseUrl, streamIdleTimeoutSeconds }),
  };
}

/** Closes every adapter's connection pool. */
export async function closeProviders(registry: ProviderRegistry): Promise<void> {
  await Promise.all(Object.values(registry).map((adapter) => adapter.close()));
}
