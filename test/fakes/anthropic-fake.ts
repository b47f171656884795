import { type FakeOptions, type FakeStep, FakeUpstream, type VendorFormat } from "./_fake-server";

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** Anthropic's Messages API wire format (`POST /v1/messages`, SSE events). */
export const anthropicFormat: VendorFormat = {
  name: "claude",
  operation(method, path, body) {
    const pathname = path.split("?")[0] ?? path;
    if (method === "GET" && pathname === "/v1/models") return { op: "models", stream: false, model: "" };
    if (method === "POST" && pathname === "/v1/messages") {
      const request = (body ?? {}) as { model?: string; stream?: boolean };
      return { op: "chat", stream: request.stream === true, model: request.model ?? "" };
    }
    return undefined;
  },
  apiKey(headers) {
    const key = headers["x-api-key"];
    return typeof key === "string" ? key : undefined;
  },
  completion({ model, text, usage, id }) {
    return {
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      model,
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
  },
  streamFrames({ model, chunks, usage, id, complete }) {
    const frames = [
      event("message_start", {
        type: "message_start",
        message: {
          id: `msg_${id}`,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usage.input, output_tokens: 1 },
        },
      }),
      event("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      }),
      event("ping", { type: "ping" }),
    ];
    for (const text of chunks) {
      frames.push(
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text },
        }),
      );
    }
    if (!complete) return frames;
    frames.push(event("content_block_stop", { type: "content_block_stop", index: 0 }));
    frames.push(
      event("message_delta", {
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: usage.output },
      }),
    );
    frames.push(event("message_stop", { type: "message_stop" }));
    return frames;
  },
  errorBody(status, message) {
    return {
      type: "error",
      error: {
        type: ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"),
        message,
      },
    };
  },
  streamErrorFrame(message) {
    return event("error", { type: "error", error: { type: "overloaded_error", message } });
  },
  models() {
    return {
      data: [
        {
          type: "model",
          id: "claude-3-5-haiku-latest",
          display_name: "Claude Haiku",
          created_at: "2024-10-22T00:00:00Z",
        },
      ],
      has_more: false,
      first_id: "claude-3-5-haiku-latest",
      last_id: "claude-3-5-haiku-latest",
    };
  },
};

/** Starts a fake Anthropic upstream; point `CLAUDE_BASE_URL` at `fake.origin`. */
export function startAnthropicFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(anthropicFormat, options).start();
}

/**
 * A step answering with one `tool_use` block (`name`, `input`), as Claude does
 * under forced tool use: the JSON body for a plain request, the SSE events
 * (the input split into `input_json_delta` pieces) for a streaming one.
 */
export function anthropicToolUse(name: string, input: unknown, model = "claude-3-5-haiku-latest"): FakeStep {
  const id = "msg_tool_1";
  const usage = { input_tokens: 20, output_tokens: 9 };
  const block = { type: "tool_use", id: "toolu_01", name, input };
  const json = JSON.stringify(input);
  const pieces = [json.slice(0, Math.ceil(json.length / 2)), json.slice(Math.ceil(json.length / 2))];
  return {
    kind: "raw",
    json: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [block],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage,
    },
    frames: [
      event("message_start", {
        type: "message_start",
        message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, usage },
      }),
      event("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { ...block, input: {} },
      }),
      ...pieces.map((partial_json) =>
        event("content_block_delta", {
          type: "content_block_delta",
          index: 0,
          delta: { type: "input_json_delta", partial_json },
        }),
      ),
      event("content_block_stop", { type: "content_block_stop", index: 0 }),
      event("message_delta", {
        type: "message_delta",
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      }),
      event("message_stop", { type: "message_stop" }),
    ],
  };
}
