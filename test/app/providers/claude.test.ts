import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import type { ChatCompletionChunk } from "../../../app/chat/types";
import { AuthenticationError, RateLimitError, UpstreamError } from "../../../app/errors";
import { ClaudeAdapter, toClaudeRequest } from "../../../app/providers/claude";
import { type FakeUpstream, startAnthropicFake } from "../../fakes";

const request = parseChatRequest({
  model: "claude/claude-3-5-haiku-latest",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
    { role: "user", content: "Hello" },
    { role: "assistant", content: "Bonjour" },
    {
      role: "user",
      content: [
        { type: "text", text: "Weather?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
      ],
    },
  ],
  max_tokens: 64,
  temperature: 1.5,
  top_p: 0.9,
  stop: "END",
  user: "user-7",
});

const signal = () => new AbortController().signal;

describe("ClaudeAdapter", () => {
  let fake: FakeUpstream;
  let adapter: ClaudeAdapter;
  beforeAll(async () => {
    fake = await startAnthropicFake();
    adapter = new ClaudeAdapter({ baseUrl: fake.origin, now: () => 1_700_000_000_000 });
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it("translates system prompts, roles, max tokens, temperature, stop and images to the Messages API", () => {
    expect(toClaudeRequest(request, "claude-3-5-haiku-latest")).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 64,
      system: "Be brief.\n\nAnswer in French.",
      messages: [
        { role: "user", content: [{ type: "text", text: "Hello" }] },
        { role: "assistant", content: [{ type: "text", text: "Bonjour" }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Weather?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          ],
        },
      ],
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "user-7" },
    });
  });

  it("defaults max_tokens (required by Anthropic) and maps tools both ways", () => {
    const withTools = parseChatRequest({
      model: "m",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
      tools: [{ type: "function", function: { name: "weather", parameters: { type: "object" } } }],
      tool_choice: "required",
    });
    const body = toClaudeRequest(withTools, "m");
    expect(body.max_tokens).toBe(4096);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "sunny" }] },
    ]);
    expect(body.tools).toEqual([
      { name: "weather", description: undefined, input_schema: { type: "object" } },
    ]);
    expect(body.tool_choice).toEqual({ type: "any" });
  });

  it("sends x-api-key and anthropic-version, and translates the answer and usage back", async () => {
    fake.script({ kind: "answer", text: "Il fait beau", usage: { input: 21, output: 4 } });
    const result = await adapter.complete(request, {
      model: "claude-3-5-haiku-latest",
      apiKey: "sk-ant-1",
      signal: signal(),
    });
    const sent = fake.chatRequests().at(-1)!;
    expect(sent.headers["x-api-key"]).toBe("sk-ant-1");
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(result.usage).toEqual({ inputTokens: 21, outputTokens: 4 });
    expect(result.completion).toMatchObject({
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-3-5-haiku-latest",
      choices: [{ index: 0, message: { role: "assistant", content: "Il fait beau" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 },
    });
  });

  it("streams message_start / content_block_delta / message_delta as OpenAI chunks with usage", async () => {
    fake.script({ kind: "answer", chunks: ["Il ", "fait"], usage: { input: 10, output: 3 } });
    const stream = await adapter.stream(request, {
      model: "claude-3-5-haiku-latest",
      apiKey: "k",
      signal: signal(),
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: "assistant", content: "" },
      { content: "Il " },
      { content: "fait" },
      {},
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(stream.usage()).toEqual({ inputTokens: 10, outputTokens: 3 });
    expect(fake.chatRequests().at(-1)?.body).toMatchObject({ stream: true });
  });

  it("classifies 429 with retry-after, 401 and 529 overloaded", async () => {
    fake.script(
      { kind: "rate_limit", retryAfter: "7" },
      { kind: "error", status: 401 },
      { kind: "error", status: 529 },
    );
    const options = { model: "m", apiKey: "k", signal: signal() };
    const limited = await adapter.complete(request, options).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterSeconds).toBe(7);
    expect(await adapter.complete(request, options).catch((e: unknown) => e)).toBeInstanceOf(
      AuthenticationError,
    );
    const overloaded = await adapter.complete(request, options).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(UpstreamError);
    expect((overloaded as Error).message).toBe(
      "claude: 529 The server had an error while processing your request",
    );
  });

  it("fails a stream cut before message_stop", async () => {
    fake.script({ kind: "stream_dies", chunks: ["Il "] });
    const stream = await adapter.stream(request, { model: "m", apiKey: "k", signal: signal() });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["", "Il "]);
    expect(error).toBeInstanceOf(UpstreamError);
  });

  it("lists models for health probes", async () => {
    expect(await adapter.listModels({ apiKey: "k", signal: signal() })).toEqual(["claude-3-5-haiku-latest"]);
  });

  it("fails when asked to translate an audio part rather than dropping it", () => {
    const withAudio = parseChatRequest({
      model: "claude-3-5-haiku-latest",
      messages: [
        { role: "user", content: [{ type: "input_audio", input_audio: { data: "AA==", format: "mp3" } }] },
      ],
    });
    expect(() => toClaudeRequest(withAudio, "claude-3-5-haiku-latest")).toThrow(
      "input_audio parts are not supported by claude",
    );
  });
});
