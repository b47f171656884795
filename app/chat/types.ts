/**
 * The OpenAI chat shapes the gateway speaks on both sides: every adapter
 * translates its vendor's wire format to and from these, so the router,
 * cache, ledger and routes handle one format.
 */

/** A tool call the assistant asked for. */
export interface ToolCall {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
}

/** The assistant message of a completion choice. */
export interface AssistantMessage {
  readonly role: "assistant";
  readonly content: string | null;
  readonly tool_calls?: readonly ToolCall[];
  readonly refusal?: string | null;
}

/** Why the model stopped, in OpenAI's terms. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/** Token counts in OpenAI's shape. */
export interface OpenAIUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** A non-streaming chat completion (`object: "chat.completion"`). */
export interface ChatCompletion {
  readonly id: string;
  readonly object: "chat.completion";
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly message: AssistantMessage;
    readonly finish_reason: FinishReason | null;
    readonly logprobs?: unknown;
  }[];
  readonly usage?: OpenAIUsage;
  readonly system_fingerprint?: string | null;
}

/** The delta of a streamed choice. */
export interface ChunkDelta {
  readonly role?: "assistant";
  readonly content?: string | null;
  readonly tool_calls?: readonly {
    readonly index: number;
    readonly id?: string;
    readonly type?: "function";
    readonly function?: { readonly name?: string; readonly arguments?: string };
  }[];
  readonly refusal?: string | null;
}

/** One streamed chunk (`object: "chat.completion.chunk"`). */
export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: "chat.completion.chunk";
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly delta: ChunkDelta;
    readonly finish_reason: FinishReason | null;
    readonly logprobs?: unknown;
  }[];
  readonly usage?: OpenAIUsage | null;
  readonly system_fingerprint?: string | null;
}

/** Token counts as the ledger and events use them. */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Converts OpenAI usage to ours (zeros when the upstream sent none). */
export function fromOpenAIUsage(usage: Partial<OpenAIUsage> | null | undefined): Usage {
  return { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 };
}

/** Converts our usage to OpenAI's shape. */
export function toOpenAIUsage(usage: Usage): OpenAIUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}
