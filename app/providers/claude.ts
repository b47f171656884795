import {
  type ChatMessage,
  type ChatRequest,
  contentText,
  maxOutputTokens,
  stopSequences,
} from "../chat/schema";
import type { ChatCompletion, ChatCompletionChunk, FinishReason, ToolCall, Usage } from "../chat/types";
import { toOpenAIUsage } from "../chat/types";
import { UpstreamError } from "../errors";
import {
  firstUnsupportedPart,
  parseDataUrl,
  type Translated,
  translateParts,
  type UserPart,
} from "./_content";
import { idleOption, parseEventJson, providerStream, UpstreamHttp } from "./_http";
import type {
  ListModelsOptions,
  ProviderAdapter,
  ProviderCallOptions,
  ProviderResponse,
  ProviderStream,
} from "./types";

/** The Anthropic API version the adapter speaks. */
export const ANTHROPIC_VERSION = "2023-06-01";
/** Anthropic requires `max_tokens`; used when the client sent none. */
export const CLAUDE_DEFAULT_MAX_TOKENS = 4096;

type ClaudeBlock =
  | { type: "text"; text: string }
  | {
      type: "image";
      source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };
    }
  | {
      type: "document";
      source: { type: "base64"; media_type: "application/pdf"; data: string };
      title?: string;
    }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string };

interface ClaudeMessage {
  role: "user" | "assistant";
  content: ClaudeBlock[];
}

/** An Anthropic Messages API request body. */
export interface ClaudeRequest {
  model: string;
  max_tokens: number;
  messages: ClaudeMessage[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
  tools?: { name: string; description?: string; input_schema: unknown }[];
  tool_choice?: { type: "auto" | "any" | "none" } | { type: "tool"; name: string };
  metadata?: { user_id: string };
}

interface ClaudeResponse {
  id: string;
  model: string;
  content: (
    | { type: "text"; text: string }
    | { type: "tool_use"; id: string; name: string; input: unknown }
  )[];
  stop_reason: string | null;
  usage: { input_tokens: number; output_tokens: number };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

/** One user content part as an Anthropic block: images, base64 PDFs as documents; no audio. */
export function claudePart(part: UserPart): Translated<ClaudeBlock> {
  switch (part.type) {
    case "text":
      return { ok: { type: "text", text: part.text } };
    case "image_url": {
      const data = parseDataUrl(part.image_url.url);
      return {
        ok: data
          ? { type: "image", source: { type: "base64", media_type: data.mediaType, data: data.data } }
          : { type: "image", source: { type: "url", url: part.image_url.url } },
      };
    }
    case "input_audio":
      return { unsupported: "input_audio parts are not supported by claude" };
    case "file": {
      const data = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
      if (data?.mediaType !== "application/pdf") {
        return {
          unsupported:
            "file parts are supported by claude only as base64 PDF data (file_data: data:application/pdf;base64,...)",
        };
      }
      const block: ClaudeBlock = {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: data.data },
      };
      if (part.file.filename) block.title = part.file.filename;
      return { ok: block };
    }
  }
}

function userBlocks(message: ChatMessage): ClaudeBlock[] {
  const content = message.content;
  if (typeof content === "string") return [{ type: "text", text: content }];
  return translateParts("claude", (content ?? []) as UserPart[], claudePart);
}

/** Translates an OpenAI chat request to the Anthropic Messages API. */
export function toClaudeRequest(request: ChatRequest, model: string): ClaudeRequest {
  const system: string[] = [];
  const messages: ClaudeMessage[] = [];
  const push = (role: "user" | "assistant", blocks: ClaudeBlock[]) => {
    const last = messages.at(-1);
    // Anthropic wants alternating roles: consecutive same-role turns merge.
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case "system":
      case "developer":
        system.push(contentText(message.content));
        break;
      case "user":
        push("user", userBlocks(message));
        break;
      case "assistant": {
        const blocks: ClaudeBlock[] = [];
        const text = contentText(message.content);
        if (text) blocks.push({ type: "text", text });
        for (const call of message.tool_calls ?? []) {
          blocks.push({
            type: "tool_use",
            id: call.id,
            name: call.function.name,
            input: parseJson(call.function.arguments),
          });
        }
        push("assistant", blocks);
        break;
      }
      case "tool":
        push("user", [
          { type: "tool_result", tool_use_id: message.tool_call_id, content: contentText(message.content) },
        ]);
        break;
    }
  }
  const body: ClaudeRequest = {
    model,
    max_tokens: maxOutputTokens(request) ?? CLAUDE_DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) body.system = system.join("\n\n");
  // OpenAI's temperature runs 0-2, Anthropic's 0-1.
  if (typeof request.temperature === "number") body.temperature = Math.min(1, request.temperature);
  if (typeof request.top_p === "number") body.top_p = request.top_p;
  const stop = stopSequences(request);
  if (stop) body.stop_sequences = stop;
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => ({
      name: tool.function.name,
      description: tool.function.description,
      input_schema: tool.function.parameters ?? { type: "object", properties: {} },
    }));
  }
  const choice = request.tool_choice;
  if (choice === "auto") body.tool_choice = { type: "auto" };
  else if (choice === "required") body.tool_choice = { type: "any" };
  else if (choice === "none") body.tool_choice = { type: "none" };
  else if (choice) body.tool_choice = { type: "tool", name: choice.function.name };
  const answerTool = responseFormatTool(request);
  if (answerTool) {
    const clientTools = choice === "none" ? [] : (body.tools ?? []);
    body.tools = [...clientTools, answerTool];
    // With the client's tools on offer the model may still call one of them;
    // otherwise it must answer through the response tool.
    body.tool_choice = clientTools.length > 0 ? { type: "any" } : { type: "tool", name: answerTool.name };
  }
  if (request.user) body.metadata = { user_id: request.user };
  return body;
}

/**
 * `response_format` for Claude, which has no JSON mode: Anthropic's documented
 * technique for JSON output is a tool whose `input_schema` is the wanted schema,
 * with tool use forced; the tool's input is then the answer (returned as the
 * message content, never as a tool call). `json_object` uses an open object
 * schema. Undefined when the request wants text, or forces one of its own tools.
 */
export function responseFormatTool(
  request: ChatRequest,
): { name: string; description: string; input_schema: unknown } | undefined {
  const format = request.response_format;
  if (!format || format.type === "text") return undefined;
  if (typeof request.tool_choice === "object") return undefined;
  const taken = new Set((request.tools ?? []).map((tool) => tool.function.name));
  if (format.type === "json_object") {
    return {
      name: unusedName(JSON_OBJECT_TOOL, taken),
      description: "Give the complete answer as one JSON object.",
      input_schema: { type: "object" },
    };
  }
  const { json_schema: spec } = format;
  return {
    name: unusedName(/^[A-Za-z0-9_-]{1,64}$/.test(spec.name) ? spec.name : JSON_OBJECT_TOOL, taken),
    description: spec.description ?? `Give the complete answer as JSON matching the ${spec.name} schema.`,
    input_schema: spec.schema ?? { type: "object" },
  };
}

/** The response tool's name for `json_object` (and a `json_schema` name Anthropic cannot take). */
const JSON_OBJECT_TOOL = "json_response";

function unusedName(name: string, taken: ReadonlySet<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name.slice(0, 60)}_${n}`;
  return candidate;
}

/** Maps Anthropic's stop reason to OpenAI's finish reason. */
export function claudeFinishReason(reason: string | null | undefined): FinishReason | null {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return null;
    default:
      return "stop";
  }
}

/** Translates an Anthropic Messages response to an OpenAI chat completion. */
export function fromClaudeResponse(
  response: ClaudeResponse,
  created: number,
  answerTool?: string,
): ProviderResponse {
  let text = "";
  let answer: string | undefined;
  const toolCalls: ToolCall[] = [];
  for (const block of response.content ?? []) {
    if (block.type === "text") text += block.text;
    else if (block.type === "tool_use" && block.name === answerTool)
      answer = JSON.stringify(block.input ?? {});
    else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const usage: Usage = {
    inputTokens: response.usage?.input_tokens ?? 0,
    outputTokens: response.usage?.output_tokens ?? 0,
  };
  const completion: ChatCompletion = {
    id: response.id,
    object: "chat.completion",
    created,
    model: response.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // The response tool's input is the JSON answer; text around it is the model thinking aloud.
          content: answer ?? (text || (toolCalls.length > 0 ? null : "")),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason:
          answer !== undefined && toolCalls.length === 0 ? "stop" : claudeFinishReason(response.stop_reason),
      },
    ],
    usage: toOpenAIUsage(usage),
  };
  return { completion, usage };
}

type ClaudeStreamEvent =
  | {
      type: "message_start";
      message: { id: string; model: string; usage?: { input_tokens?: number; output_tokens?: number } };
    }
  | {
      type: "content_block_start";
      index: number;
      content_block: { type: string; id?: string; name?: string };
    }
  | {
      type: "content_block_delta";
      index: number;
      delta: { type: string; text?: string; partial_json?: string };
    }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason?: string | null };
      usage?: { output_tokens?: number; input_tokens?: number };
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error: { type?: string; message?: string } };

/** The Anthropic Messages API (`CLAUDE_BASE_URL`, default https://api.anthropic.com). */
export class ClaudeAdapter implements ProviderAdapter {
  readonly name = "claude" as const;
  private readonly http: UpstreamHttp;

  constructor(options: { baseUrl: string; now?: () => number; streamIdleTimeoutSeconds?: number }) {
    this.http = new UpstreamHttp("claude", options.baseUrl, idleOption(options.streamIdleTimeoutSeconds));
    // The paths carry the API version: a base URL given with `/v1` works too.
    this.version = this.http.basePath.endsWith("/v1") ? "" : "/v1";
    this.now = options.now ?? Date.now;
  }

  private readonly now: () => number;
  private readonly version: string;

  /** Why the request's content cannot go to Claude (audio, files other than base64 PDF), if it cannot. */
  unsupportedContent(request: ChatRequest): string | undefined {
    return firstUnsupportedPart(request, claudePart);
  }

  private headers(apiKey: string | undefined, stream: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
    };
    if (apiKey) headers["x-api-key"] = apiKey;
    return headers;
  }

  async complete(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderResponse> {
    const body = toClaudeRequest(request, options.model);
    const response = await this.http.request({
      method: "POST",
      path: `${this.version}/messages`,
      headers: this.headers(options.apiKey, false),
      body: JSON.stringify(body),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const answer = await response.json<ClaudeResponse>();
    if (!answer || !Array.isArray(answer.content)) {
      throw new UpstreamError("claude: response has no content", "claude", response.status);
    }
    return fromClaudeResponse(answer, Math.floor(this.now() / 1000), responseFormatTool(request)?.name);
  }

  async stream(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderStream> {
    const response = await this.http.request({
      method: "POST",
      path: `${this.version}/messages`,
      headers: this.headers(options.apiKey, true),
      body: JSON.stringify({ ...toClaudeRequest(request, options.model), stream: true }),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const created = Math.floor(this.now() / 1000);
    const answerTool = responseFormatTool(request)?.name;
    let inputTokens = 0;
    let outputTokens = 0;
    let usage: Usage | undefined;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      let id = "";
      let model = options.model;
      let done = false;
      const toolIndex = new Map<number, number>();
      // Content blocks that are the response tool: their JSON streams as content.
      const answerBlocks = new Set<number>();
      const chunk = (
        delta: ChatCompletionChunk["choices"][number]["delta"],
        finish: FinishReason | null = null,
      ) =>
        ({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [{ index: 0, delta, finish_reason: finish }],
        }) satisfies ChatCompletionChunk;
      try {
        for await (const event of response.events()) {
          // Past message_stop, read on to the end of the body (keeps the pooled connection).
          if (done) continue;
          const data = parseEventJson<ClaudeStreamEvent>("claude", event.data);
          switch (data.type) {
            case "message_start":
              id = data.message.id;
              model = data.message.model ?? model;
              inputTokens = data.message.usage?.input_tokens ?? 0;
              outputTokens = data.message.usage?.output_tokens ?? 0;
              usage = { inputTokens, outputTokens };
              yield chunk({ role: "assistant", content: "" });
              break;
            case "content_block_start":
              if (data.content_block.type === "tool_use" && data.content_block.name === answerTool) {
                answerBlocks.add(data.index);
              } else if (data.content_block.type === "tool_use") {
                const index = toolIndex.size;
                toolIndex.set(data.index, index);
                yield chunk({
                  tool_calls: [
                    {
                      index,
                      id: data.content_block.id,
                      type: "function",
                      function: { name: data.content_block.name, arguments: "" },
                    },
                  ],
                });
              }
              break;
            case "content_block_delta":
              // With a response tool, only its JSON is the answer (forced tool use sends no text anyway).
              if (data.delta.type === "text_delta" && data.delta.text && !answerTool)
                yield chunk({ content: data.delta.text });
              else if (
                data.delta.type === "input_json_delta" &&
                data.delta.partial_json &&
                answerBlocks.has(data.index)
              )
                yield chunk({ content: data.delta.partial_json });
              else if (data.delta.type === "input_json_delta" && data.delta.partial_json) {
                yield chunk({
                  tool_calls: [
                    {
                      index: toolIndex.get(data.index) ?? 0,
                      function: { arguments: data.delta.partial_json },
                    },
                  ],
                });
              }
              break;
            case "message_delta":
              outputTokens = data.usage?.output_tokens ?? outputTokens;
              inputTokens = data.usage?.input_tokens ?? inputTokens;
              usage = { inputTokens, outputTokens };
              if (data.delta.stop_reason) {
                // Answering through the response tool is a plain stop, not a tool call.
                const answered = answerBlocks.size > 0 && toolIndex.size === 0;
                yield chunk({}, answered ? "stop" : claudeFinishReason(data.delta.stop_reason));
              }
              break;
            case "message_stop":
              done = true;
              break;
            case "error":
              throw new UpstreamError(
                `claude: stream error: ${data.error?.message ?? data.error?.type ?? "unknown"}`,
                "claude",
              );
          }
        }
      } finally {
        if (!done) response.discard();
      }
      if (!done) throw new UpstreamError("claude: stream ended before message_stop", "claude");
    }
    return providerStream(chunks(), () => usage, [options.apiKey]);
  }

  async listModels(options: ListModelsOptions): Promise<string[]> {
    const response = await this.http.request({
      method: "GET",
      path: `${this.version}/models`,
      headers: this.headers(options.apiKey, false),
      signal: options.signal,
      secrets: [options.apiKey],
    });
    const body = await response.json<{ data?: { id?: unknown }[] }>();
    return (body.data ?? []).map((model) => model.id).filter((id): id is string => typeof id === "string");
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
