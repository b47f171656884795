import { randomUUID } from "node:crypto";
import { estimateTextTokens } from "../budget/estimate";
import { type ChatRequest, contentText, maxOutputTokens, stopSequences } from "../chat/schema";
import type { ChatCompletion, ChatCompletionChunk, FinishReason, ToolCall, Usage } from "../chat/types";
import { toOpenAIUsage } from "../chat/types";
import { type EmbeddingsRequest, embeddingInputs } from "../embeddings/schema";
import { UpstreamError } from "../errors";
import {
  firstUnsupportedPart,
  parseDataUrl,
  type Translated,
  translateParts,
  type UserPart,
} from "./_content";
import { checkVectors, toEmbeddingsResponse } from "./_embeddings";
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

type GeminiPart =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { fileUri: string; mimeType?: string } }
  | { functionCall: { name: string; args: unknown } }
  | { functionResponse: { name: string; response: unknown } };

interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

/** A Gemini generateContent request body. */
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: {
    maxOutputTokens?: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
    candidateCount?: number;
    presencePenalty?: number;
    frequencyPenalty?: number;
    seed?: number;
    responseMimeType?: string;
    responseJsonSchema?: unknown;
  };
  tools?: { functionDeclarations: { name: string; description?: string; parameters?: unknown }[] }[];
  toolConfig?: { functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] } };
}

interface GeminiResponse {
  candidates?: {
    content?: { parts?: { text?: string; functionCall?: { name: string; args?: unknown } }[] };
    finishReason?: string;
  }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; totalTokenCount?: number };
  modelVersion?: string;
  responseId?: string;
  error?: { message?: string };
}

function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

// Media types Gemini takes inline (its documented image, audio, PDF and plain-text inputs).
const GEMINI_INLINE = /^(image\/|audio\/|application\/pdf$|text\/plain$)/;

/** One user content part as a Gemini part: images, audio, and PDF/audio/image/text files inline. */
export function geminiPart(part: UserPart): Translated<GeminiPart> {
  switch (part.type) {
    case "text":
      return { ok: { text: part.text } };
    case "image_url": {
      const data = parseDataUrl(part.image_url.url);
      return {
        ok: data
          ? { inlineData: { mimeType: data.mediaType, data: data.data } }
          : { fileData: { fileUri: part.image_url.url } },
      };
    }
    case "input_audio":
      return {
        ok: { inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data } },
      };
    case "file": {
      const data = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
      if (!data || !GEMINI_INLINE.test(data.mediaType)) {
        return {
          unsupported:
            "file parts are supported by gemini only as base64 PDF, audio, image or text/plain data (file_data: data:<type>;base64,...)",
        };
      }
      return { ok: { inlineData: { mimeType: data.mediaType, data: data.data } } };
    }
  }
}

/** Translates an OpenAI chat request to Gemini's generateContent. */
export function toGeminiRequest(request: ChatRequest): GeminiRequest {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: "user" | "model", parts: GeminiPart[]) => {
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case "system":
      case "developer":
        system.push(contentText(message.content));
        break;
      case "user": {
        if (typeof message.content === "string") {
          push("user", [{ text: message.content }]);
          break;
        }
        push("user", translateParts("gemini", message.content, geminiPart));
        break;
      }
      case "assistant": {
        const parts: GeminiPart[] = [];
        const text = contentText(message.content);
        if (text) parts.push({ text });
        for (const call of message.tool_calls ?? []) {
          toolNames.set(call.id, call.function.name);
          parts.push({
            functionCall: { name: call.function.name, args: parseArgs(call.function.arguments) },
          });
        }
        push("model", parts);
        break;
      }
      case "tool":
        push("user", [
          {
            functionResponse: {
              name: toolNames.get(message.tool_call_id) ?? message.tool_call_id,
              response: { content: contentText(message.content) },
            },
          },
        ]);
        break;
    }
  }
  const body: GeminiRequest = { contents };
  if (system.length > 0) body.systemInstruction = { parts: [{ text: system.join("\n\n") }] };
  const config: NonNullable<GeminiRequest["generationConfig"]> = {};
  const max = maxOutputTokens(request);
  if (max !== undefined) config.maxOutputTokens = max;
  if (typeof request.temperature === "number") config.temperature = request.temperature;
  if (typeof request.top_p === "number") config.topP = request.top_p;
  const stop = stopSequences(request);
  if (stop) config.stopSequences = stop;
  if (typeof request.presence_penalty === "number") config.presencePenalty = request.presence_penalty;
  if (typeof request.frequency_penalty === "number") config.frequencyPenalty = request.frequency_penalty;
  if (typeof request.seed === "number") config.seed = request.seed;
  const format = request.response_format;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  else if (format?.type === "json_schema") {
    config.responseMimeType = "application/json";
    // responseJsonSchema takes JSON Schema as OpenAI clients write it (additionalProperties,
    // type arrays); the older responseSchema is an OpenAPI subset that rejects those.
    if (format.json_schema.schema) config.responseJsonSchema = format.json_schema.schema;
  }
  if (Object.keys(config).length > 0) body.generationConfig = config;
  if (request.tools?.length) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.function.name,
          description: tool.function.description,
          parameters: tool.function.parameters,
        })),
      },
    ];
  }
  const choice = request.tool_choice;
  if (choice === "auto") body.toolConfig = { functionCallingConfig: { mode: "AUTO" } };
  else if (choice === "required") body.toolConfig = { functionCallingConfig: { mode: "ANY" } };
  else if (choice === "none") body.toolConfig = { functionCallingConfig: { mode: "NONE" } };
  else if (choice) {
    body.toolConfig = {
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] },
    };
  }
  return body;
}

/** Maps Gemini's finish reason to OpenAI's. */
export function geminiFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason | null {
  if (reason === undefined) return null;
  if (hasToolCalls) return "tool_calls";
  switch (reason) {
    case "STOP":
      return "stop";
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
      return "content_filter";
    default:
      return "stop";
  }
}

function geminiUsage(metadata: GeminiResponse["usageMetadata"]): Usage {
  const input = metadata?.promptTokenCount ?? 0;
  const output = metadata?.candidatesTokenCount ?? Math.max(0, (metadata?.totalTokenCount ?? 0) - input);
  return { inputTokens: input, outputTokens: output };
}

function candidateParts(response: GeminiResponse): { text: string; toolCalls: ToolCall[] } {
  let text = "";
  const toolCalls: ToolCall[] = [];
  for (const part of response.candidates?.[0]?.content?.parts ?? []) {
    if (typeof part.text === "string") text += part.text;
    if (part.functionCall) {
      toolCalls.push({
        id: `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
        type: "function",
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      });
    }
  }
  return { text, toolCalls };
}

/** Translates a Gemini response to an OpenAI chat completion. */
export function fromGeminiResponse(
  response: GeminiResponse,
  model: string,
  created: number,
): ProviderResponse {
  const { text, toolCalls } = candidateParts(response);
  const usage = geminiUsage(response.usageMetadata);
  const completion: ChatCompletion = {
    id: response.responseId ? `chatcmpl-${response.responseId}` : `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created,
    model: response.modelVersion ?? model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (toolCalls.length > 0 ? null : ""),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: geminiFinishReason(
          response.candidates?.[0]?.finishReason ?? "STOP",
          toolCalls.length > 0,
        ),
      },
    ],
    usage: toOpenAIUsage(usage),
  };
  return { completion, usage };
}

/** A Gemini batchEmbedContents body: one request per text, each naming the model. */
export function toGeminiEmbedRequest(
  texts: readonly string[],
  model: string,
  dimensions: number | undefined,
): {
  requests: { model: string; content: { parts: { text: string }[] }; outputDimensionality?: number }[];
} {
  return {
    requests: texts.map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
    })),
  };
}

/** Google's Gemini API, generateContent / streamGenerateContent (`GEMINI_BASE_URL`). */
export class GeminiAdapter implements ProviderAdapter, EmbeddingAdapter {
  readonly name = "gemini" as const;
  private readonly http: UpstreamHttp;
  private readonly now: () => number;
  private readonly version: string;

  constructor(options: { baseUrl: string; now?: () => number; streamIdleTimeoutSeconds?: number }) {
    this.http = new UpstreamHttp("gemini", options.baseUrl, idleOption(options.streamIdleTimeoutSeconds));
    this.now = options.now ?? Date.now;
    // The paths carry the API version: a base URL given with `/v1beta` works too.
    this.version = this.http.basePath.endsWith("/v1beta") ? "" : "/v1beta";
  }

  /** Why the request's content cannot go to Gemini (files by id or of other types), if it cannot. */
  unsupportedContent(request: ChatRequest): string | undefined {
    return firstUnsupportedPart(request, geminiPart);
  }

  private headers(apiKey: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (apiKey) headers["x-goog-api-key"] = apiKey;
    return headers;
  }

  private modelPath(model: string): string {
    const name = model.startsWith("models/") ? model : `models/${model}`;
    return `${this.version}/${name.split("/").map(encodeURIComponent).join("/")}`;
  }

  async complete(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderResponse> {
    const response = await this.http.request({
      method: "POST",
      path: `${this.modelPath(options.model)}:generateContent`,
      headers: this.headers(options.apiKey),
      body: JSON.stringify(toGeminiRequest(request)),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const body = await response.json<GeminiResponse>();
    if (!body || typeof body !== "object" || (!body.candidates && !body.usageMetadata)) {
      throw new UpstreamError("gemini: response has no candidates", "gemini", response.status);
    }
    return fromGeminiResponse(body, options.model, Math.floor(this.now() / 1000));
  }

  async stream(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderStream> {
    const response = await this.http.request({
      method: "POST",
      path: `${this.modelPath(options.model)}:streamGenerateContent?alt=sse`,
      headers: { ...this.headers(options.apiKey), accept: "text/event-stream" },
      body: JSON.stringify(toGeminiRequest(request)),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const created = Math.floor(this.now() / 1000);
    const id = `chatcmpl-${randomUUID()}`;
    let usage: Usage | undefined;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      let first = true;
      let finished = false;
      let toolCount = 0;
      let drained = false;
      try {
        for await (const event of response.events()) {
          const data = parseEventJson<GeminiResponse>("gemini", event.data);
          if (data.error)
            throw new UpstreamError(`gemini: stream error: ${data.error.message ?? "unknown"}`, "gemini");
          if (data.usageMetadata) usage = geminiUsage(data.usageMetadata);
          const { text, toolCalls } = candidateParts(data);
          const reason = data.candidates?.[0]?.finishReason;
          const model = data.modelVersion ?? options.model;
          const delta: ChatCompletionChunk["choices"][number]["delta"] = {
            ...(first ? { role: "assistant" as const } : {}),
            ...(text ? { content: text } : {}),
            ...(toolCalls.length > 0
              ? { tool_calls: toolCalls.map((call) => ({ index: toolCount++, ...call })) }
              : {}),
          };
          first = false;
          const finish = geminiFinishReason(reason, toolCount > 0);
          if (finish) finished = true;
          yield {
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [{ index: 0, delta, finish_reason: finish }],
          };
        }
        drained = true;
      } finally {
        if (!drained) response.discard();
      }
      // Gemini ends the body after the last event; no finishReason means it was cut off.
      if (!finished) throw new UpstreamError("gemini: stream ended without a finishReason", "gemini");
    }
    return providerStream(chunks(), () => usage, [options.apiKey]);
  }

  /** Gemini embeds text only. */
  unsupportedEmbeddingInput(request: EmbeddingsRequest): string | undefined {
    return typeof embeddingInputs(request)[0] === "string"
      ? undefined
      : "gemini embeds text only, not token-id arrays";
  }

  /**
   * `models/<m>:batchEmbedContents`, one request per input, `dimensions` as
   * `outputDimensionality`. Gemini reports no token count for embeddings, so
   * usage is the gateway's o200k estimate (flagged as estimated).
   */
  async embed(request: EmbeddingsRequest, options: ProviderCallOptions): Promise<ProviderEmbeddings> {
    const texts = embeddingInputs(request).map((item) => (typeof item === "string" ? item : ""));
    const model = options.model.startsWith("models/") ? options.model : `models/${options.model}`;
    const response = await this.http.request({
      method: "POST",
      path: `${this.modelPath(options.model)}:batchEmbedContents`,
      headers: this.headers(options.apiKey),
      body: JSON.stringify(toGeminiEmbedRequest(texts, model, request.dimensions)),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const reply = await response.json<{
      embeddings?: { values?: number[] }[];
      usageMetadata?: { promptTokenCount?: number };
    }>();
    const vectors = Array.isArray(reply?.embeddings) ? reply.embeddings.map((e) => e?.values) : undefined;
    checkVectors("gemini", vectors, texts.length, response.status);
    const reported = reply.usageMetadata?.promptTokenCount;
    const estimated = typeof reported !== "number";
    const promptTokens = estimated
      ? texts.reduce((sum, text) => sum + estimateTextTokens(text), 0)
      : reported;
    return {
      response: toEmbeddingsResponse({
        model: options.model.replace(/^models\//, ""),
        vectors,
        promptTokens,
        encodingFormat: request.encoding_format,
      }),
      usage: { inputTokens: promptTokens, outputTokens: 0 },
      estimatedUsage: estimated,
    };
  }

  async listModels(options: ListModelsOptions): Promise<string[]> {
    const response = await this.http.request({
      method: "GET",
      path: `${this.version}/models`,
      headers: this.headers(options.apiKey),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const body = await response.json<{ models?: { name?: unknown }[] }>();
    return (body.models ?? [])
      .map((model) => model.name)
      .filter((name): name is string => typeof name === "string")
      .map((name) => name.replace(/^models\//, ""));
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
