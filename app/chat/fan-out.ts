import type { ProviderName } from "../config/defaults";
import { candidateTargets } from "../gateway/routing";
import type { ChatOutcome, CompletionResult, StreamResult } from "../gateway/types";
import { type ChatAnswer, type ChatInput, type ChatPipelineDeps, runChat } from "./pipeline";
import type { ChatRequest } from "./schema";
import type { ChatCompletionChunk, Usage } from "./types";
import { fromOpenAIUsage } from "./types";

/**
 * Vendors that answer `n` choices in one call. Groq and Ollama's
 * OpenAI-compatible APIs accept only `n: 1`; Claude and Gemini adapters send one.
 */
export const NATIVE_N_PROVIDERS: readonly ProviderName[] = ["openai"];

/**
 * `n > 1` (docs/design.md section 3): passed through when every target the
 * model may reach takes `n` itself, else fanned out as `n` parallel one-choice
 * calls through {@link runChat} (each routed, failed over, budgeted and billed
 * on its own; never cached, so identical calls are not collapsed into one),
 * merged into one answer with choices in order and `usage` summed. A stream
 * carries every call's chunks with the choice's `index`.
 */
export async function runChatN<T>(
  deps: ChatPipelineDeps,
  input: ChatInput,
  answer: ChatAnswer<T>,
): Promise<T> {
  const n = input.request.n ?? 1;
  if (n <= 1 || nativeN(input.request, deps)) return runChat(deps, input, answer);
  const { n: _n, ...rest } = input.request;
  const one: ChatRequest = rest;
  const sub: ChatInput = { ...input, request: one, cacheHeaders: { cacheControl: "no-store" } };
  if (!one.stream || !answer.stream) {
    const results = await Promise.all(
      Array.from({ length: n }, () => runChat(deps, { ...sub, request: { ...one, stream: false } }, capture)),
    );
    return answer.completion(mergeCompletions(results), "bypass");
  }
  return fanOutStream(deps, sub, n, answer.stream.bind(answer));
}

function nativeN(request: ChatRequest, deps: ChatPipelineDeps): boolean {
  const targets = candidateTargets(request.model, deps.config.get());
  return targets.length > 0 && targets.every((target) => NATIVE_N_PROVIDERS.includes(target.provider));
}

// What each one-choice call answers: the completion as the gateway returned it.
const capture: ChatAnswer<CompletionResult> = {
  completion: (result) => result,
  hit: (entry) => ({
    response: entry.completion,
    usage: fromOpenAIUsage(entry.completion.usage),
    provider: entry.provider as ProviderName,
    model: entry.model,
    attempts: 0,
    fallbackUsed: false,
    upstreamMs: 0,
    degraded: false,
    failures: [],
  }),
};

function sumUsage(usages: readonly Usage[]): Usage {
  return {
    inputTokens: usages.reduce((sum, usage) => sum + usage.inputTokens, 0),
    outputTokens: usages.reduce((sum, usage) => sum + usage.outputTokens, 0),
  };
}

function mergeOutcomes(outcomes: readonly ChatOutcome[]): ChatOutcome {
  const first = outcomes[0]!;
  return {
    provider: first.provider,
    model: first.model,
    attempts: outcomes.reduce((sum, outcome) => sum + outcome.attempts, 0),
    fallbackUsed: outcomes.some((outcome) => outcome.fallbackUsed),
    upstreamMs: Math.max(...outcomes.map((outcome) => outcome.upstreamMs)),
    degraded: outcomes.some((outcome) => outcome.degraded),
    failures: outcomes.flatMap((outcome) => outcome.failures),
  };
}

function mergeCompletions(results: readonly CompletionResult[]): CompletionResult {
  const first = results[0]!;
  const usage = sumUsage(results.map((result) => result.usage));
  return {
    ...mergeOutcomes(results),
    usage,
    response: {
      ...first.response,
      choices: results.map((result, index) => ({ ...result.response.choices[0]!, index })),
      usage: {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      },
    },
  };
}

/**
 * Opens `n` streams; once every one has its first chunk, answers one stream
 * that carries them in choice order (each call keeps streaming upstream
 * meanwhile) with `index` set, then one usage chunk when the client asked.
 * Each call's pipeline run ends when its chunks have been sent.
 */
async function fanOutStream<T>(
  deps: ChatPipelineDeps,
  sub: ChatInput,
  n: number,
  write: (result: StreamResult, cache: "bypass") => Promise<T>,
): Promise<T> {
  const includeUsage = sub.request.stream_options?.include_usage === true;
  const opened: Promise<StreamResult>[] = [];
  const drained: (() => void)[] = [];
  const runs: Promise<void>[] = [];
  for (let index = 0; index < n; index++) {
    let open!: (result: StreamResult) => void;
    opened.push(new Promise<StreamResult>((resolve) => (open = resolve)));
    const done = new Promise<void>((resolve) => drained.push(resolve));
    runs.push(
      runChat(deps, sub, {
        completion: () => undefined,
        stream: async (result) => {
          open(result);
          await done;
        },
        hit: () => undefined,
      }),
    );
  }
  // A call that fails before its first chunk fails the request; the others are let go.
  let streams: StreamResult[];
  try {
    streams = await Promise.race([
      Promise.all(opened),
      ...runs.map((run) => run.then(() => new Promise<never>(() => {}))),
    ]);
  } catch (error) {
    for (const release of drained) release();
    await Promise.allSettled(runs);
    throw error;
  }
  async function* merged(): AsyncGenerator<ChatCompletionChunk> {
    let last: ChatCompletionChunk | undefined;
    try {
      for (const [index, stream] of streams.entries()) {
        for await (const chunk of stream.chunks) {
          if (chunk.choices.length === 0) continue;
          last = chunk;
          const { usage: _usage, ...rest } = chunk;
          yield { ...rest, choices: chunk.choices.map((choice) => ({ ...choice, index })) };
        }
        drained[index]!();
      }
      if (includeUsage) {
        const usage = sumUsage(streams.map((stream) => stream.usage()));
        yield {
          id: last?.id ?? "",
          object: "chat.completion.chunk",
          created: last?.created ?? Math.floor(Date.now() / 1000),
          model: last?.model ?? streams[0]!.model,
          choices: [],
          usage: {
            prompt_tokens: usage.inputTokens,
            completion_tokens: usage.outputTokens,
            total_tokens: usage.inputTokens + usage.outputTokens,
          },
        };
      }
    } finally {
      for (const release of drained) release();
    }
  }
  const result: StreamResult = {
    ...mergeOutcomes(streams),
    chunks: merged(),
    usage: () => sumUsage(streams.map((stream) => stream.usage())),
  };
  try {
    return await write(result, "bypass");
  } finally {
    await Promise.allSettled(runs);
  }
}
