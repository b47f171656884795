import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChunkDelta,
  FinishReason,
  OpenAIUsage,
  ToolCall,
} from "../chat/types";

type Choice = ChatCompletion["choices"][number];

interface ChoiceBuilder {
  content: string | null;
  refusal: string | null;
  finishReason: FinishReason | null;
  toolCalls: Map<number, { id: string; type: "function"; name: string; arguments: string }>;
}

/**
 * Folds a stream's chunks into the completion they spell, so a streamed
 * answer can be cached once complete and replayed either way later. `usage`,
 * when given, replaces what the chunks carried (the provider's final count).
 */
export function accumulateChunks(
  chunks: readonly ChatCompletionChunk[],
  usage?: OpenAIUsage,
): ChatCompletion {
  const first = chunks[0];
  const choices = new Map<number, ChoiceBuilder>();
  let reported: OpenAIUsage | undefined;
  let fingerprint: string | null | undefined;
  for (const chunk of chunks) {
    if (chunk.usage) reported = chunk.usage;
    if (chunk.system_fingerprint) fingerprint = chunk.system_fingerprint;
    for (const choice of chunk.choices ?? []) {
      let built = choices.get(choice.index);
      if (!built) {
        built = { content: null, refusal: null, finishReason: null, toolCalls: new Map() };
        choices.set(choice.index, built);
      }
      const delta = choice.delta ?? {};
      if (typeof delta.content === "string") built.content = (built.content ?? "") + delta.content;
      if (typeof delta.refusal === "string") built.refusal = (built.refusal ?? "") + delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        const existing = built.toolCalls.get(call.index) ?? {
          id: "",
          type: "function" as const,
          name: "",
          arguments: "",
        };
        if (call.id) existing.id = call.id;
        if (call.function?.name) existing.name += call.function.name;
        if (call.function?.arguments) existing.arguments += call.function.arguments;
        built.toolCalls.set(call.index, existing);
      }
      if (choice.finish_reason) built.finishReason = choice.finish_reason;
    }
  }
  const total = usage ?? reported;
  return {
    id: first?.id ?? "",
    object: "chat.completion",
    created: first?.created ?? 0,
    model: first?.model ?? "",
    choices: [...choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, built]): Choice => {
        const toolCalls: ToolCall[] = [...built.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, call]) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: call.arguments },
          }));
        return {
          index,
          message: {
            role: "assistant",
            content: built.content,
            refusal: built.refusal,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: built.finishReason ?? "stop",
          logprobs: null,
        };
      }),
    ...(total ? { usage: total } : {}),
    ...(fingerprint ? { system_fingerprint: fingerprint } : {}),
  };
}

/** Options of {@link completionToChunks}. */
export interface ReplayOptions {
  /** Add the final usage chunk (the client asked for `stream_options.include_usage`). */
  readonly includeUsage?: boolean;
  /** Characters of content per chunk. @default 256 */
  readonly chunkCharacters?: number;
}

/**
 * The OpenAI chunk sequence of a completion: per choice a role chunk, content
 * chunks, a tool-call chunk, a finish chunk; then the usage chunk when asked.
 */
export function completionToChunks(
  completion: ChatCompletion,
  options: ReplayOptions = {},
): ChatCompletionChunk[] {
  const size = Math.max(1, options.chunkCharacters ?? 256);
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
    ...(options.includeUsage ? { usage: null } : {}),
  };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const at = (delta: ChunkDelta, finish: FinishReason | null = null) =>
      chunks.push({
        ...base,
        choices: [{ index: choice.index, delta, finish_reason: finish, logprobs: null }],
      });
    at({ role: "assistant", content: choice.message.content === null ? null : "" });
    const content = choice.message.content ?? "";
    for (let start = 0; start < content.length; start += size)
      at({ content: content.slice(start, start + size) });
    if (choice.message.refusal) at({ refusal: choice.message.refusal });
    const calls = choice.message.tool_calls ?? [];
    if (calls.length > 0) {
      at({
        tool_calls: calls.map((call, index) => ({
          index,
          id: call.id,
          type: "function" as const,
          function: { name: call.function.name, arguments: call.function.arguments },
        })),
      });
    }
    at({}, choice.finish_reason);
  }
  if (options.includeUsage && completion.usage)
    chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

/** One Server-Sent Events frame. */
export function sseFrame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** The stream terminator OpenAI clients wait for. */
export const SSE_DONE = "data: [DONE]\n\n";

/** A completion as the full SSE body a streamed request receives, ending `data: [DONE]`. */
export function completionToSse(completion: ChatCompletion, options: ReplayOptions = {}): string {
  return completionToChunks(completion, options).map(sseFrame).join("") + SSE_DONE;
}
