/** The providers the gateway can route to (docs/design.md section 3). */
export const PROVIDER_NAMES = ["openai", "claude", "gemini", "groq", "ollama"] as const;
/** One of the providers the gateway can route to. */
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The environments a deployment can run as (docs/design.md section 4). */
export const ENVIRONMENT_NAMES = ["development", "staging", "production"] as const;
/** One of the deployment environments. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Log levels, lowest first. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A provider and model the router can send a request to. */
export interface TargetSpec {
  readonly provider: ProviderName;
  readonly model: string;
}

/** The gateway behaviour an environment starts from, before variables override it. */
export interface GatewayDefaults {
  readonly provider: ProviderName;
  readonly model: string;
  readonly fallbacks: readonly TargetSpec[];
  readonly timeoutSeconds: number;
  readonly maxRetries: number;
  readonly logLevel: LogLevel;
  readonly cachingEnabled: boolean;
  readonly cacheTtlSeconds: number;
  readonly monitoringEnabled: boolean;
  readonly dailyBudgetUsd: number;
  /** Where `POST /v1/embeddings` sends a bare model name (`AI_EMBEDDING_PROVIDER`). */
  readonly embeddingProvider: ProviderName;
  /** The embedding model of the gateway's own embeddings (semantic cache) (`AI_EMBEDDING_MODEL`). */
  readonly embeddingModel: string;
}

/** The model a provider uses when a fallback names only the provider. */
export const DEFAULT_MODELS: Readonly<Record<ProviderName, string>> = {
  openai: "gpt-4o-mini",
  claude: "claude-3-5-haiku-latest",
  gemini: "gemini-1.5-flash",
  groq: "llama-3.1-8b-instant",
  ollama: "llama3.2:3b",
};

/** The vendors' public endpoints; tests and proxies override them with `*_BASE_URL`. */
export const DEFAULT_BASE_URLS: Readonly<Record<ProviderName, string>> = {
  openai: "https://api.openai.com/v1",
  claude: "https://api.anthropic.com",
  gemini: "https://generativelanguage.googleapis.com",
  groq: "https://api.groq.com/openai/v1",
  ollama: "http://127.0.0.1:11434",
};

/**
 * Per-environment defaults, after the guide's "Environment-Based Configuration":
 * Ollama in development (free), a cheap OpenAI model in staging, `gpt-4o` with a
 * Claude fallback in production.
 */
export const ENVIRONMENT_DEFAULTS: Readonly<Record<EnvironmentName, GatewayDefaults>> = {
  development: {
    provider: "ollama",
    model: "llama3.2:3b",
    fallbacks: [],
    timeoutSeconds: 30,
    maxRetries: 1,
    logLevel: "debug",
    cachingEnabled: false,
    cacheTtlSeconds: 3600,
    monitoringEnabled: false,
    dailyBudgetUsd: 100,
    embeddingProvider: "ollama",
    embeddingModel: "nomic-embed-text",
  },
  staging: {
    provider: "openai",
    model: "gpt-4o-mini",
    fallbacks: [],
    timeoutSeconds: 15,
    maxRetries: 2,
    logLevel: "info",
    cachingEnabled: true,
    cacheTtlSeconds: 3600,
    monitoringEnabled: true,
    dailyBudgetUsd: 100,
    embeddingProvider: "openai",
    embeddingModel: "text-embedding-3-small",
  },
  production: {
    provider: "openai",
    model: "gpt-4o",
    fallbacks: [{ provider: "claude", model: DEFAULT_MODELS.claude }],
    timeoutSeconds: 10,
    maxRetries: 3,
    logLevel: "warn",
    cachingEnabled: true,
    cacheTtlSeconds: 3600,
    monitoringEnabled: true,
    dailyBudgetUsd: 100,
    embeddingProvider: "openai",
    embeddingModel: "text-embedding-3-small",
  },
};

/**
 * The environment variables that carry each provider's API key, the first being the
 * one to set (the gateway also reads numbered pools, `<NAME>_1`, `<NAME>_2`, …);
 * keyless providers have none.
 */
export const PROVIDER_KEY_VARIABLES: Readonly<Record<ProviderName, readonly string[]>> = {
  openai: ["OPENAI_API_KEY"],
  claude: ["CLAUDE_API_KEY", "ANTHROPIC_API_KEY"],
  gemini: ["GEMINI_API_KEY"],
  groq: ["GROQ_API_KEY"],
  ollama: [],
};
