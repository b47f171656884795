import { estimateTextTokens } from "../budget/estimate";
import type { ChatRequest } from "../chat/schema";
import { type ChatCompletion, type ChatCompletionChunk, fromOpenAIUsage, type Usage } from "../chat/types";
import type { ProviderName } from "../config/defaults";
import { type EmbeddingsRequest, embeddingInputs } from "../embeddings/schema";
import { UpstreamError } from "../errors";
import { checkVectors, decodeEmbeddingBase64, toEmbeddingsResponse } from "./_embeddings";
import { idleOption, parseEventJson, providerStream, UpstreamHttp } from "./_http";
import type {
  EmbeddingAdapter,
  ListModelsOptions,
  ProviderAdapter,
  ProviderCallOptions,
  ProviderEmbeddings,
  ProviderResponse,
  ProviderStream,
} from "./types";

/** Options of {@link OpenAICompatibleAdapter}. */
export interface OpenAICompatibleOptions {
  readonly name: ProviderName;
  readonly baseUrl: string;
  /**
   * Prefix added before `/chat/completions` and `/models` when the base URL
   * lacks it, so `https://api.openai.com` and `https://api.openai.com/v1` both work.
   * @default "/v1"
   */
  readonly apiPrefix?: string;
  /** Longest silence between stream chunks, in seconds; 0 disables. @default 60 */
  readonly streamIdleTimeoutSeconds?: number;
}

// Fields that are the gateway's, not the upstream's.
const GATEWAY_ONLY = new Set(["metadata"]);

/**
 * The OpenAI chat-completions wire format, spoken by OpenAI, Groq and Ollama
 * (`/v1/chat/completions`). The request passes through nearly as-is: only the
 * model is replaced and streaming asks for usage so it can be priced.
 */
export class OpenAICompatibleAdapter implements ProviderAdapter, EmbeddingAdapter {
  readonly name: ProviderName;
  private readonly http: UpstreamHttp;
  private readonly prefix: string;

  constructor(options: OpenAICompatibleOptions) {
    this.name = options.name;
    this.http = new UpstreamHttp(options.name, options.baseUrl, idleOption(options.streamIdleTimeoutSeconds));
    const prefix = options.apiPrefix ?? "/v1";
    this.prefix = prefix && this.http.basePath.endsWith(prefix) ? "" : prefix;
  }

  private headers(apiKey: string | undefined, requestId: string | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
    };
    if (apiKey) headers["authorization"] = `Bearer ${apiKey}`;
    if (requestId) headers["x-request-id"] = requestId;
    return headers;
  }

  /** The upstream body: the client's request with the target model. */
  toUpstreamBody(request: ChatRequest, model: string, stream: boolean): string {
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(request)) {
      if (!GATEWAY_ONLY.has(key) && value !== undefined) body[key] = value;
    }
    body["model"] = model;
    if (stream) {
      body["stream"] = true;
      body["stream_options"] = { include_usage: true };
    } else {
      delete body["stream"];
      delete body["stream_options"];
    }
    return JSON.stringify(body);
  }

  async complete(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderResponse> {
    const response = await this.http.request({
      method: "POST",
      path: `${this.prefix}/chat/completions`,
      headers: this.headers(options.apiKey, options.requestId),
      body: this.toUpstreamBody(request, options.model, false),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const completion = await response.json<ChatCompletion>();
    if (!completion || !Array.isArray(completion.choices)) {
      throw new UpstreamError(`${this.name}: response has no choices`, this.name, response.status);
    }
    return { completion, usage: fromOpenAIUsage(completion.usage) };
  }

  async stream(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderStream> {
    const headers = this.headers(options.apiKey, options.requestId);
    headers["accept"] = "text/event-stream";
    const response = await this.http.request({
      method: "POST",
      path: `${this.prefix}/chat/completions`,
      headers,
      body: this.toUpstreamBody(request, options.model, true),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const name = this.name;
    let usage: Usage | undefined;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      let done = false;
      try {
        for await (const event of response.events()) {
          // Past [DONE], read on to the end of the body rather than break: breaking
          // destroys the body, and with it the pooled keep-alive connection.
          if (done) continue;
          if (event.data === "[DONE]") {
            done = true;
            continue;
          }
          const chunk = parseEventJson<
            ChatCompletionChunk & {
              error?: { message?: string };
              x_groq?: { usage?: ChatCompletionChunk["usage"] };
            }
          >(name, event.data);
          if (chunk.error) {
            throw new UpstreamError(`${name}: stream error: ${chunk.error.message ?? "unknown"}`, name);
          }
          const reported = chunk.usage ?? chunk.x_groq?.usage;
          if (reported) usage = fromOpenAIUsage(reported);
          if (!Array.isArray(chunk.choices) || chunk.choices.length === 0) continue;
          yield chunk.usage === undefined ? chunk : { ...chunk, usage: undefined };
        }
      } finally {
        if (!done) response.discard();
      }
      if (!done) throw new UpstreamError(`${name}: stream ended before [DONE]`, name);
    }
    return providerStream(chunks(), () => usage, [options.apiKey]);
  }

  async listModels(options: ListModelsOptions): Promise<string[]> {
    const response = await this.http.request({
      method: "GET",
      path: `${this.prefix}/models`,
      headers: this.headers(options.apiKey, undefined),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const body = await response.json<{ data?: { id?: unknown }[] }>();
    return (body.data ?? []).map((model) => model.id).filter((id): id is string => typeof id === "string");
  }

  /** Ollama's `/v1/embeddings` takes text only; OpenAI also takes token-id arrays. */
  unsupportedEmbeddingInput(request: EmbeddingsRequest): string | undefined {
    if (this.name === "openai") return undefined;
    const inputs = embeddingInputs(request);
    return typeof inputs[0] === "string" ? undefined : `${this.name} embeds text only, not token-id arrays`;
  }

  /**
   * `POST /embeddings` (OpenAI's, and Ollama's under `/v1`). Base64 is asked of
   * OpenAI only (a quarter of the bytes); other upstreams are asked for floats
   * and the gateway encodes, so every vendor answers in the format asked for.
   */
  async embed(request: EmbeddingsRequest, options: ProviderCallOptions): Promise<ProviderEmbeddings> {
    const upstreamBase64 = this.name === "openai" && request.encoding_format === "base64";
    const body: Record<string, unknown> = { model: options.model, input: request.input };
    if (upstreamBase64) body["encoding_format"] = "base64";
    if (request.dimensions !== undefined) body["dimensions"] = request.dimensions;
    if (request.user !== undefined && this.name === "openai") body["user"] = request.user;
    const response = await this.http.request({
      method: "POST",
      path: `${this.prefix}/embeddings`,
      headers: this.headers(options.apiKey, options.requestId),
      body: JSON.stringify(body),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const reply = await response.json<{
      data?: { index?: number; embedding?: unknown }[];
      model?: string;
      usage?: { prompt_tokens?: number };
    }>();
    const inputs = embeddingInputs(request);
    const items = Array.isArray(reply?.data) ? [...reply.data] : undefined;
    items?.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    // An upstream may answer floats even when asked for base64 (or the reverse): decode whatever came.
    const vectors = items?.map((item) =>
      typeof item.embedding === "string" ? Array.from(decodeEmbeddingBase64(item.embedding)) : item.embedding,
    );
    checkVectors(this.name, vectors, inputs.length, response.status);
    const reported = reply.usage?.prompt_tokens;
    const estimated = typeof reported !== "number";
    const promptTokens = estimated
      ? inputs.reduce<number>(
          (sum, item) => sum + (typeof item === "string" ? estimateTextTokens(item) : item.length),
          0,
        )
      : reported;
    return {
      response: toEmbeddingsResponse({
        model: typeof reply.model === "string" ? reply.model : options.model,
        vectors,
        promptTokens,
        encodingFormat: request.encoding_format,
      }),
      usage: { inputTokens: promptTokens, outputTokens: 0 },
      estimatedUsage: estimated,
    };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
