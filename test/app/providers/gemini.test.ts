import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import type { ChatCompletionChunk } from "../../../app/chat/types";
import { AuthenticationError, type RateLimitError, UpstreamError } from "../../../app/errors";
import { GeminiAdapter, toGeminiRequest } from "../../../app/providers/gemini";
import { type FakeUpstream, startGeminiFake } from "../../fakes";

const request = parseChatRequest({
  model: "gemini/gemini-1.5-flash",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" },
    { role: "assistant", content: "Hi" },
    { role: "user", content: "Weather?" },
  ],
  max_completion_tokens: 100,
  temperature: 0.2,
  top_p: 0.8,
  stop: ["END", "STOP"],
  seed: 7,
  response_format: { type: "json_object" },
});

const signal = () => new AbortController().signal;

describe("GeminiAdapter", () => {
  let fake: FakeUpstream;
  let adapter: GeminiAdapter;
  beforeAll(async () => {
    fake = await startGeminiFake();
    adapter = new GeminiAdapter({ baseUrl: fake.origin, now: () => 1_700_000_000_000 });
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it("translates system instruction, roles and generationConfig", () => {
    expect(toGeminiRequest(request)).toEqual({
      contents: [
        { role: "user", parts: [{ text: "Hello" }] },
        { role: "model", parts: [{ text: "Hi" }] },
        { role: "user", parts: [{ text: "Weather?" }] },
      ],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: {
        maxOutputTokens: 100,
        temperature: 0.2,
        topP: 0.8,
        stopSequences: ["END", "STOP"],
        seed: 7,
        responseMimeType: "application/json",
      },
    });
  });

  it("calls generateContent with x-goog-api-key and translates the answer and usageMetadata", async () => {
    fake.script({ kind: "answer", text: "Sunny", usage: { input: 30, output: 2 } });
    const result = await adapter.complete(request, {
      model: "gemini-1.5-flash",
      apiKey: "gk-1",
      signal: signal(),
    });
    const sent = fake.chatRequests().at(-1)!;
    expect(sent.path).toBe("/v1beta/models/gemini-1.5-flash:generateContent");
    expect(sent.headers["x-goog-api-key"]).toBe("gk-1");
    expect(result.usage).toEqual({ inputTokens: 30, outputTokens: 2 });
    expect(result.completion.choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: "Sunny" },
      finish_reason: "stop",
    });
  });

  it("streams streamGenerateContent?alt=sse as OpenAI chunks with the final usage", async () => {
    fake.script({ kind: "answer", chunks: ["Sun", "ny"], usage: { input: 5, output: 2 } });
    const stream = await adapter.stream(request, {
      model: "gemini-1.5-flash",
      apiKey: "gk-1",
      signal: signal(),
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(fake.chatRequests().at(-1)?.path).toBe(
      "/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse",
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(["Sun", "ny"]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason)).toEqual([null, "stop"]);
    expect(stream.usage()).toEqual({ inputTokens: 5, outputTokens: 2 });
  });

  it("reads RetryInfo from a 429 body and classifies 401 and malformed bodies", async () => {
    fake.script({ kind: "rate_limit" }, { kind: "error", status: 401 }, { kind: "malformed" });
    const options = { model: "m", apiKey: "k", signal: signal() };
    const limited = await adapter.complete(request, options).catch((e: unknown) => e);
    expect((limited as RateLimitError).retryAfterSeconds).toBe(2);
    expect(await adapter.complete(request, options).catch((e: unknown) => e)).toBeInstanceOf(
      AuthenticationError,
    );
    const malformed = await adapter.complete(request, options).catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(UpstreamError);
    expect((malformed as Error).message).toBe("gemini: malformed JSON in the response body");
  });

  it("lists models without the models/ prefix", async () => {
    expect(await adapter.listModels({ apiKey: "k", signal: signal() })).toEqual(["gemini-1.5-flash"]);
  });
});
