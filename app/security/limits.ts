import type { GatewayConfig } from "../config/load-config";
import { HttpError } from "../errors";

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

/** Characters of text in one message's content (a string, or its text and refusal parts); images and files count nothing. */
export function contentCharacters(content: unknown): number {
  if (typeof content === "string") return content.length;
  if (!Array.isArray(content)) return 0;
  let characters = 0;
  for (const part of content) {
    if (!part || typeof part !== "object") continue;
    const { text, refusal } = part as { text?: unknown; refusal?: unknown };
    if (typeof text === "string") characters += text.length;
    else if (typeof refusal === "string") characters += refusal.length;
  }
  return characters;
}

/**
 * The one prompt-limit check, for chat, jobs and batch alike: more than
 * `limits.maxMessages` messages is a 400, more than `limits.maxPromptCharacters`
 * characters of text across them a 413 (docs/design.md section 3). Works on a body
 * not yet validated, so it runs before the schema and the injection scan.
 */
export function checkPromptLimits(messages: readonly unknown[], limits: EffectiveLimits): void {
  if (messages.length > limits.maxMessages) {
    throw new HttpError(400, {
      message: `Too many messages: ${messages.length} (the limit is ${limits.maxMessages})`,
      type: "invalid_request_error",
      code: "too_many_messages",
    });
  }
  let characters = 0;
  for (const message of messages) {
    characters += contentCharacters((message as { content?: unknown } | null)?.content);
  }
  if (characters > limits.maxPromptCharacters) {
    throw new HttpError(413, {
      message: `Prompt too large: ${characters} characters (the limit is ${limits.maxPromptCharacters})`,
      type: "request_too_large",
      code: "prompt_too_large",
    });
  }
}
