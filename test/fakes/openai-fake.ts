import { type FakeOptions, FakeUpstream, type VendorFormat } from "./_fake-server";

const sse = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

const OPENAI_ERROR_TYPES: Record<number, { type: string; code: string | null }> = {
  400: { type: "invalid_request_error", code: null },
  401: { type: "invalid_request_error", code: "invalid_api_key" },
  403: { type: "invalid_request_error", code: "unsupported_country_region_territory" },
  404: { type: "invalid_request_error", code: "model_not_found" },
  429: { type: "requests", code: "rate_limit_exceeded" },
};

/** OpenAI's chat-completions wire format (also Groq's and Ollama's `/v1`). */
export const openAIFormat: VendorFormat = {
  name: "openai",
  operation(method, path, body) {
    const pathname = path.split("?")[0] ?? path;
    if (method === "GET" && pathname.endsWith("/models")) return { op: "models", stream: false, model: "" };
    if (method === "POST" && pathname.endsWith("/chat/completions")) {
      const request = (body ?? {}) as { model?: string; stream?: boolean };
      return { op: "chat", stream: request.stream === true, model: request.model ?? "" };
    }
    return undefined;
  },
  apiKey(headers) {
    const auth = headers.authorization;
    return auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
  },
  completion({ model, text, usage, id }) {
    return {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text, refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      },
      system_fingerprint: "fp_fake",
    };
  },
  streamFrames({ model, chunks, usage, id, complete }) {
    const base = {
      id: `chatcmpl-${id}`,
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model,
      system_fingerprint: "fp_fake",
    };
    const frames = [
      sse({
        ...base,
        choices: [
          { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
        ],
      }),
    ];
    for (const content of chunks) {
      frames.push(
        sse({ ...base, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }] }),
      );
    }
    if (!complete) return frames;
    frames.push(sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] }));
    frames.push(
      sse({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
        },
      }),
    );
    frames.push(sse("[DONE]"));
    return frames;
  },
  errorBody(status, message) {
    const known = OPENAI_ERROR_TYPES[status] ?? {
      type: status >= 500 ? "server_error" : "invalid_request_error",
      code: null,
    };
    return { error: { message, type: known.type, param: null, code: known.code } };
  },
  streamErrorFrame(message) {
    // What OpenAI (and Groq) send when a stream fails after it started: a data frame with an error object.
    return sse({ error: { message, type: "server_error", param: null, code: null } });
  },
  models() {
    return {
      object: "list",
      data: [
        { id: "gpt-4o", object: "model", created: 1_700_000_000, owned_by: "system" },
        { id: "gpt-4o-mini", object: "model", created: 1_700_000_000, owned_by: "system" },
      ],
    };
  },
};

/**
 * Starts a fake OpenAI-compatible upstream. Point `OPENAI_BASE_URL` at
 * `${fake.origin}/v1` (Groq likewise; Ollama at `fake.origin`).
 */
export function startOpenAIFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(openAIFormat, options).start();
}
