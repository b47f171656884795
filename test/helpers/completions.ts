import type { CachedResponse } from "../../app/cache/store";
import type { ChatCompletion } from "../../app/chat/types";

/** An OpenAI chat completion as a vendor would answer it. */
export function completion(content: string, overrides: Partial<ChatCompletion> = {}): ChatCompletion {
  return {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1_764_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null },
        finish_reason: "stop",
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    ...overrides,
  };
}

/** A cache entry holding {@link completion}. */
export function entry(content: string): CachedResponse {
  return { provider: "openai", model: "gpt-4o-mini", completion: completion(content), storedAt: 0 };
}
