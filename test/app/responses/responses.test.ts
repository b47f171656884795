import OpenAI from "openai";
import type {
  ResponseCreateParamsNonStreaming,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { describe, expect, it } from "vitest";
import type { ChatCompletion, ChatCompletionChunk } from "../../../app/chat/types";
import { HttpError } from "../../../app/errors";
import {
  formatResponseEvent,
  newResponseId,
  parseResponsesRequest,
  type ResponseContext,
  ResponsesStreamTranslator,
  toChatRequest,
  toResponse,
} from "../../../app/responses";

/** An openai SDK client whose fetch records the request body and answers `reply`. */
function sdk(reply: (body: Record<string, unknown>) => Response): {
  client: OpenAI;
  sent: Record<string, unknown>[];
} {
  const sent: Record<string, unknown>[] = [];
  const client = new OpenAI({
    apiKey: "sk-unused",
    baseURL: "http://gateway.invalid/v1",
    maxRetries: 0,
    fetch: async (_url, init) => {
      const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
      sent.push(body);
      return reply(body);
    },
  });
  return { client, sent };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
const sse = (events: readonly ResponseStreamEvent[]) =>
  new Response(events.map(formatResponseEvent).join(""), {
    headers: { "content-type": "text/event-stream" },
  });

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: true,
};

const context = (body: unknown): ResponseContext => ({
  id: newResponseId(),
  createdAt: 1_750_000_000,
  request: parseResponsesRequest(body),
});

const chunk = (
  delta: ChatCompletionChunk["choices"][number]["delta"],
  finish: ChatCompletionChunk["choices"][number]["finish_reason"] = null,
): ChatCompletionChunk => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1_750_000_000,
  model: "gpt-4o-mini-2024-07-18",
  choices: [{ index: 0, delta, finish_reason: finish }],
});

describe("Responses request → chat request", () => {
  it("translates what the openai SDK sends: instructions, items, function calls and outputs, tools, JSON schema, max tokens", async () => {
    const params: ResponseCreateParamsNonStreaming = {
      model: "openai/gpt-4o-mini",
      instructions: "Answer briefly.",
      input: [
        { role: "user", content: [{ type: "input_text", text: "Weather in Paris and Rome?" }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call", call_id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' },
        { type: "function_call_output", call_id: "call_1", output: "18C" },
        { type: "function_call_output", call_id: "call_2", output: "24C" },
        { role: "user", content: "Summarize." },
      ],
      tools: [weatherTool],
      tool_choice: "auto",
      text: {
        format: {
          type: "json_schema",
          name: "summary",
          schema: { type: "object", properties: { text: { type: "string" } } },
          strict: true,
        },
      },
      max_output_tokens: 200,
      temperature: 0.2,
      store: false,
    };
    const { client, sent } = sdk(() =>
      json(toResponse(completion("{}"), context({ model: "m", input: "x" }))),
    );
    await client.responses.create(params);
    const chat = toChatRequest(parseResponsesRequest(sent[0]));
    expect(chat).toEqual({
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
            {
              id: "call_2",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Rome"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
        { role: "tool", tool_call_id: "call_2", content: "24C" },
        { role: "user", content: "Summarize." },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather in a city",
            parameters: weatherTool.parameters,
            strict: true,
          },
        },
      ],
      tool_choice: "auto",
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "summary",
          schema: { type: "object", properties: { text: { type: "string" } } },
          strict: true,
        },
      },
      max_completion_tokens: 200,
      temperature: 0.2,
    });
  });

  it("takes text input, asks streams for usage, and keeps images as chat image parts", () => {
    expect(toChatRequest(parseResponsesRequest({ model: "m", input: "hi", stream: true }))).toEqual({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const withImage = parseResponsesRequest({
      model: "m",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" },
          ],
        },
        { type: "reasoning", id: "rs_1", summary: [] },
      ],
    });
    expect(toChatRequest(withImage).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
        ],
      },
    ]);
  });

  it("fails with a clear 400 for what a stateless gateway cannot do, and for bad input", () => {
    const cases: [unknown, string][] = [
      [
        { model: "m", input: "x", previous_response_id: "resp_1" },
        "Invalid request: previous_response_id is not supported: this gateway is stateless and keeps no responses: send the whole conversation in input (with store unset or false)",
      ],
      [
        { model: "m", input: "x", store: true },
        "Invalid request: store is not supported: this gateway is stateless and keeps no responses: send the whole conversation in input (with store unset or false)",
      ],
      [
        { model: "m", input: "x", tools: [{ type: "web_search" }] },
        'Invalid request: tools[0]: tool type "web_search" is not supported: the gateway runs function tools only',
      ],
      [
        { model: "m", input: [{ type: "item_reference", id: "msg_1" }] },
        'Invalid request: input[0]: item type "item_reference" is not supported (the gateway takes message, function_call, function_call_output and reasoning items)',
      ],
      [
        { model: "m", input: [{ type: "function_call", call_id: "c", name: "f" }] },
        "Invalid request: input[0].arguments: must be a string",
      ],
      [{ model: "m" }, "Invalid request: input: must be a string or an array of input items"],
      [
        { model: "m", input: "x", max_output_tokens: 0 },
        "Invalid request: max_output_tokens: must be a positive integer",
      ],
      [
        { model: "m", input: "x", text: { format: { type: "json_schema", name: "s" } } },
        "Invalid request: text.format.schema: must be a JSON schema object",
      ],
    ];
    for (const [body, message] of cases) {
      let error: unknown;
      try {
        parseResponsesRequest(body);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HttpError);
      expect({ status: (error as HttpError).status, message: (error as HttpError).message }).toEqual({
        status: 400,
        message,
      });
    }
    expect(() =>
      toChatRequest(
        parseResponsesRequest({
          model: "m",
          input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }],
        }),
      ),
    ).toThrow("Invalid request: input[0]: input_image needs an image_url (file_id images are not supported)");
  });
});

function completion(
  text: string | null,
  toolCalls?: { id: string; name: string; arguments: string }[],
): ChatCompletion {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_750_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text,
          ...(toolCalls
            ? {
                tool_calls: toolCalls.map((c) => ({
                  id: c.id,
                  type: "function" as const,
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        finish_reason: toolCalls ? "tool_calls" : "stop",
      },
    ],
    usage: { prompt_tokens: 21, completion_tokens: 7, total_tokens: 28 },
  };
}

describe("chat completion → Response", () => {
  it("is a Response the openai SDK reads: output text, message item and usage", async () => {
    const ctx = context({ model: "openai/gpt-4o-mini", input: "Say hello", instructions: "Be nice." });
    const { client } = sdk(() => json(toResponse(completion("Hello there!"), ctx)));
    const response = await client.responses.create({ model: "openai/gpt-4o-mini", input: "Say hello" });
    expect(response.id).toBe(ctx.id);
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.output_text).toBe("Hello there!");
    expect(response.model).toBe("gpt-4o-mini-2024-07-18");
    expect(response.instructions).toBe("Be nice.");
    expect(response.output).toEqual([
      {
        type: "message",
        id: expect.stringMatching(/^msg_[0-9a-f]{32}$/),
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Hello there!", annotations: [], logprobs: [] }],
      },
    ]);
    expect(response.usage).toMatchObject({ input_tokens: 21, output_tokens: 7, total_tokens: 28 });
  });

  it("turns tool calls into function_call items", () => {
    const ctx = context({ model: "m", input: "weather?", tools: [weatherTool] });
    const response = toResponse(
      completion(null, [{ id: "call_9", name: "get_weather", arguments: '{"city":"Oslo"}' }]),
      ctx,
    );
    expect(response.output).toEqual([
      {
        type: "function_call",
        id: expect.stringMatching(/^fc_/),
        call_id: "call_9",
        name: "get_weather",
        arguments: '{"city":"Oslo"}',
        status: "completed",
      },
    ]);
    expect(response.tools).toEqual([{ ...weatherTool }]);
  });

  it("reports a completion cut by max tokens as incomplete", () => {
    const cut: ChatCompletion = {
      ...completion("Once upon"),
      choices: [{ index: 0, message: { role: "assistant", content: "Once upon" }, finish_reason: "length" }],
    };
    const response = toResponse(cut, context({ model: "m", input: "story", max_output_tokens: 2 }));
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(response.max_output_tokens).toBe(2);
  });
});

describe("chat stream → Responses events", () => {
  it("emits the Responses event sequence, numbered, which the SDK's ResponseStream accumulates", async () => {
    const ctx = context({ model: "openai/gpt-4o-mini", input: "Say hello", stream: true });
    const translator = new ResponsesStreamTranslator(ctx);
    const events = [
      ...translator.start(),
      ...translator.push(chunk({ role: "assistant", content: "" })),
      ...translator.push(chunk({ content: "Hello" })),
      ...translator.push(chunk({ content: " world" })),
      ...translator.push(chunk({}, "stop")),
      ...translator.finish({ inputTokens: 9, outputTokens: 2 }),
    ];
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));

    const { client } = sdk(() => sse(events));
    const stream = client.responses.stream({ model: "openai/gpt-4o-mini", input: "Say hello" });
    const seen: string[] = [];
    stream.on("response.output_text.delta", (event) => seen.push(event.snapshot));
    const final = await stream.finalResponse();
    expect(seen).toEqual(["Hello", "Hello world"]);
    expect(final.id).toBe(ctx.id);
    expect(final.status).toBe("completed");
    expect(final.output_text).toBe("Hello world");
    expect(final.usage).toMatchObject({ input_tokens: 9, output_tokens: 2, total_tokens: 11 });
  });

  it("streams function calls as function_call items with argument deltas", async () => {
    const ctx = context({ model: "m", input: "weather?", tools: [weatherTool], stream: true });
    const translator = new ResponsesStreamTranslator(ctx);
    const events = [
      ...translator.start(),
      ...translator.push(chunk({ role: "assistant", content: "Checking." })),
      ...translator.push(
        chunk({
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } },
          ],
        }),
      ),
      ...translator.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      ...translator.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] })),
      ...translator.push(chunk({}, "tool_calls")),
      ...translator.finish({ inputTokens: 30, outputTokens: 12 }),
    ];
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const { client } = sdk(() => sse(events));
    const stream = client.responses.stream({ model: "m", input: "weather?" });
    const argumentSnapshots: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => argumentSnapshots.push(event.snapshot));
    const final = await stream.finalResponse();
    expect(argumentSnapshots).toEqual(['{"city":', '{"city":"Oslo"}']);
    expect(final.output_text).toBe("Checking.");
    expect(final.output.map((item) => item.type)).toEqual(["message", "function_call"]);
    expect(final.output[1]).toMatchObject({
      type: "function_call",
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Oslo"}',
      status: "completed",
    });
  });

  it("ends with response.incomplete when the model hit max_output_tokens, and response.failed on an upstream error", () => {
    const cut = new ResponsesStreamTranslator(context({ model: "m", input: "x", max_output_tokens: 1 }));
    const events = [
      ...cut.start(),
      ...cut.push(chunk({ content: "A" }, "length")),
      ...cut.finish({ inputTokens: 1, outputTokens: 1 }),
    ];
    const last = events.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    expect(last.type === "response.incomplete" && last.response.incomplete_details).toEqual({
      reason: "max_output_tokens",
    });

    const failing = new ResponsesStreamTranslator(context({ model: "m", input: "x" }));
    const failed = [
      ...failing.start(),
      ...failing.push(chunk({ content: "A" })),
      ...failing.fail("openai: stream ended before [DONE]"),
    ];
    const end = failed.at(-1)!;
    expect(end.type).toBe("response.failed");
    expect(end.type === "response.failed" && end.response.error).toEqual({
      code: "server_error",
      message: "openai: stream ended before [DONE]",
    });
    expect(end.sequence_number).toBe(failed.length - 1);
  });

  it("writes each event as an SSE frame named by its type", () => {
    const [created] = new ResponsesStreamTranslator(context({ model: "m", input: "x" })).start();
    const frame = formatResponseEvent(created!);
    expect(frame.startsWith("event: response.created\ndata: {")).toBe(true);
    expect(frame.endsWith("\n\n")).toBe(true);
    expect(JSON.parse(frame.split("\n")[1]!.slice(6))).toEqual(created);
  });
});
