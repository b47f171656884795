import { fakeEmbedding, normalize } from "./_embedding-vectors";
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
    if (method === "POST" && pathname.endsWith("/embeddings")) {
      return {
        op: "embeddings",
        stream: false,
        model: (body as { model?: string } | undefined)?.model ?? "",
      };
    }
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
  embeddings({ model, body }) {
    return openAIEmbeddings(model, body, (status, message) => openAIFormat.errorBody(status, message));
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

/** Native widths of OpenAI's embedding models; ada-002 cannot be shortened. */
const OPENAI_EMBEDDING_MODELS: Record<string, { width: number; shortens: boolean }> = {
  "text-embedding-3-small": { width: 1536, shortens: true },
  "text-embedding-3-large": { width: 3072, shortens: true },
  "text-embedding-ada-002": { width: 1536, shortens: false },
};

/** Whitespace-separated words, the fakes' stand-in for a token count. */
export function fakeTokenCount(input: string | readonly number[]): number {
  return typeof input === "string" ? input.split(/\s+/).filter(Boolean).length : input.length;
}

/** The inputs of an OpenAI embeddings body, as a list. */
export function embeddingInputsOf(input: unknown): (string | number[])[] | undefined {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === "number")) return [input as number[]];
  if (input.every((x) => typeof x === "string" || Array.isArray(x))) return input as (string | number[])[];
  return undefined;
}

/**
 * OpenAI's `/v1/embeddings`: deterministic vectors per text, shortened and
 * re-normalized to `dimensions` as OpenAI does, base64 as little-endian
 * float32 when asked, and OpenAI's 400s for bad input and dimensions.
 */
export function openAIEmbeddings(
  model: string,
  body: unknown,
  errorBody: (status: number, message: string) => unknown,
  models: Record<string, { width: number; shortens: boolean }> = OPENAI_EMBEDDING_MODELS,
  options: { base64?: boolean } = {},
): { status: number; body: unknown } {
  const request = (body ?? {}) as { input?: unknown; dimensions?: unknown; encoding_format?: unknown };
  const inputs = embeddingInputsOf(request.input);
  if (!inputs) {
    return { status: 400, body: errorBody(400, "'input' : input must be a string or an array of strings") };
  }
  const known = models[model] ?? { width: 1536, shortens: true };
  let width = known.width;
  if (request.dimensions !== undefined) {
    if (!known.shortens) {
      return { status: 400, body: errorBody(400, "This model does not support specifying dimensions.") };
    }
    const asked = request.dimensions;
    if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1 || asked > known.width) {
      return {
        status: 400,
        body: errorBody(
          400,
          `Invalid value for 'dimensions' = ${String(asked)}. Must be between 1 and ${known.width}.`,
        ),
      };
    }
    width = asked;
  }
  const base64 = (options.base64 ?? true) && request.encoding_format === "base64";
  let tokens = 0;
  const data = inputs.map((input, index) => {
    tokens += fakeTokenCount(input);
    const vector = normalize(fakeEmbedding(input, known.width).slice(0, width));
    const embedding = base64 ? float32Base64(vector) : vector;
    return { object: "embedding", index, embedding };
  });
  return {
    status: 200,
    body: { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, x] of vector.entries()) bytes.writeFloatLE(x, i * 4);
  return bytes.toString("base64");
}

/**
 * Starts a fake OpenAI-compatible upstream. Point `OPENAI_BASE_URL` at
 * `${fake.origin}/v1` (Groq likewise; Ollama at `fake.origin`).
 */
export function startOpenAIFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(openAIFormat, options).start();
}
