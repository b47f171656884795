import { type ChatMessage, contentText } from "../chat/schema";

type Tokenizer = typeof import("gpt-tokenizer/model/gpt-4o");
let tokenizer: Tokenizer | undefined;

// Loaded on first use: parsing the encoding takes about a second, which only
// requests that need an estimate (enforced budgets, abandoned streams) should pay.
function load(): Tokenizer {
  tokenizer ??= require("gpt-tokenizer/model/gpt-4o") as Tokenizer;
  return tokenizer;
}

// Special-token text in a prompt ("<|endoftext|>") is counted as plain text, never refused.
const PLAIN = { disallowedSpecial: new Set<string>() };

/** Tokens of a text under o200k (GPT-4o's encoding), the estimate used for every vendor. */
export function estimateTextTokens(text: string): number {
  return text === "" ? 0 : load().countTokens(text, PLAIN);
}

/**
 * Prompt tokens of a chat request, as OpenAI counts them: each message's text
 * plus its role and framing (3 per message, 3 to prime the answer). Tool
 * definitions and non-text parts are not counted (an underestimate the
 * reservation's `max_tokens` share usually covers).
 */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let tokens = 3;
  for (const message of messages) tokens += 3 + estimateTextTokens(contentText(message.content));
  return tokens;
}
