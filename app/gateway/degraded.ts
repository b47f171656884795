import type { ChatRequest } from "../chat/schema";
import { type ChatCompletionChunk, toOpenAIUsage } from "../chat/types";
import type { TargetSpec } from "../config/defaults";
import { AllTargetsFailedError } from "../errors";
import type { ChatContext, ChatOutcome, CompletionResult, StreamResult, TargetFailure } from "./types";

/** The reply sent when every target failed and `AI_DEGRADED_REPLY` is on (after the guide). */
export const DEGRADED_REPLY =
  "I apologize, but I'm experiencing technical difficulties. Please try again in a moment or contact support if the issue persists.";

/** Every target failed: what a degraded reply (or the 502/504, app/middleware/error-handler.ts) is built from. */
export class AllTargetsFailed extends AllTargetsFailedError {
  override readonly name = "AllTargetsFailed";
  constructor(
    /** The first target, which a degraded reply names. */
    readonly target: TargetSpec,
    override readonly failures: readonly TargetFailure[],
    attempts: number,
  ) {
    super(failures, attempts);
  }
}

/** The outcome of a degraded reply: a 200 naming the first target, nothing served. */
export function degradedOutcome(error: AllTargetsFailed): ChatOutcome {
  return {
    provider: error.target.provider,
    model: error.target.model,
    attempts: error.attempts,
    fallbackUsed: false,
    upstreamMs: 0,
    degraded: true,
    failures: error.failures,
  };
}

/** The apology as a completion (`AI_DEGRADED_REPLY`); `nowMs` dates it. */
export function degradedCompletion(
  request: ChatRequest,
  ctx: ChatContext,
  error: AllTargetsFailed,
  nowMs: number,
): CompletionResult {
  return {
    response: {
      id: `chatcmpl-degraded-${ctx.requestId}`,
      object: "chat.completion",
      created: Math.floor(nowMs / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: "assistant", content: DEGRADED_REPLY }, finish_reason: "stop" }],
      usage: toOpenAIUsage({ inputTokens: 0, outputTokens: 0 }),
    },
    usage: { inputTokens: 0, outputTokens: 0 },
    ...degradedOutcome(error),
  };
}

/** The apology as a stream: role and content, finish, then usage when the client asked for it. */
export function degradedStream(
  request: ChatRequest,
  ctx: ChatContext,
  error: AllTargetsFailed,
  nowMs: number,
): StreamResult {
  const completion = degradedCompletion(request, ctx, error, nowMs);
  const base = {
    id: completion.response.id,
    object: "chat.completion.chunk" as const,
    created: completion.response.created,
    model: request.model,
  };
  const includeUsage = request.stream_options?.include_usage === true;
  async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
    yield {
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: DEGRADED_REPLY }, finish_reason: null }],
    };
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
    if (includeUsage) yield { ...base, choices: [], usage: toOpenAIUsage(completion.usage) };
  }
  return { ...degradedOutcome(error), chunks: chunks(), usage: () => completion.usage };
}
