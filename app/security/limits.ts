import type { GatewayConfig } from "../config/load-config";

/** The request limits in force: `AI_CONFIG_FILE` `limits` over these defaults. */
export interface EffectiveLimits {
  /** Characters of text across all messages (the guide's 50,000). */
  readonly maxPromptCharacters: number;
  readonly maxMessages: number;
  readonly maxBodyBytes: number;
  /** Per client key; undefined means unlimited. */
  readonly requestsPerMinute: number | undefined;
  /** Per client key, input plus output tokens; undefined means unlimited. */
  readonly tokensPerMinute: number | undefined;
  readonly maxBatchSize: number;
  readonly batchConcurrency: number;
}

/** Defaults for the limits a config file may set. */
export const LIMIT_DEFAULTS = {
  maxPromptCharacters: 50_000,
  maxMessages: 500,
  maxBodyBytes: 1_048_576,
  maxBatchSize: 50,
  batchConcurrency: 5,
} as const;

const cache = new WeakMap<GatewayConfig, EffectiveLimits>();

/** The limits of a configuration (memoized per config object, so per-request reads are free). */
export function limitsOf(config: GatewayConfig): EffectiveLimits {
  let limits = cache.get(config);
  if (!limits) {
    const file = config.file.limits;
    limits = {
      maxPromptCharacters: file.maxPromptCharacters ?? LIMIT_DEFAULTS.maxPromptCharacters,
      maxMessages: file.maxMessages ?? LIMIT_DEFAULTS.maxMessages,
      maxBodyBytes: file.maxBodyBytes ?? LIMIT_DEFAULTS.maxBodyBytes,
      requestsPerMinute: file.requestsPerMinute,
      tokensPerMinute: file.tokensPerMinute,
      maxBatchSize: file.maxBatchSize ?? LIMIT_DEFAULTS.maxBatchSize,
      batchConcurrency: file.batchConcurrency ?? LIMIT_DEFAULTS.batchConcurrency,
    };
    cache.set(config, limits);
  }
  return limits;
}
