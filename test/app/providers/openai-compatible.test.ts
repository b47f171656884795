import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import { TimeoutError, UpstreamError } from "../../../app/errors";
import { createOllamaAdapter } from "../../../app/providers/ollama";
import { createOpenAIAdapter } from "../../../app/providers/openai";
import { type FakeUpstream, startOpenAIFake } from "../../fakes";

const request = parseChatRequest({
  model: "alias",
  messages: [{ role: "user", content: "Hi" }],
  temperature: 0.3,
  stop: ["x"],
  max_tokens: 10,
  metadata: { team: "a" },
  logprobs: true,
});

describe("OpenAI-compatible adapters", () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startOpenAIFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("passes the request through with the target model, dropping gateway-only metadata", async () => {
    const adapter = createOpenAIAdapter({ baseUrl: `${fake.origin}/v1` });
    const result = await adapter.complete(request, {
      model: "gpt-4o-mini",
      apiKey: "sk-1",
      signal: new AbortController().signal,
      requestId: "r1",
    });
    const sent = fake.chatRequests().at(-1)!;
    expect(sent.body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.3,
      stop: ["x"],
      max_tokens: 10,
      logprobs: true,
    });
    expect(sent.headers.authorization).toBe("Bearer sk-1");
    expect(sent.headers["x-request-id"]).toBe("r1");
    expect(result.usage).toEqual({ inputTokens: 12, outputTokens: 5 });
    await adapter.close();
  });

  it("asks for usage when streaming and keeps the usage-only chunk out of the stream", async () => {
    const adapter = createOllamaAdapter({ baseUrl: fake.origin });
    fake.script({ kind: "answer", chunks: ["a", "b"], usage: { input: 4, output: 2 } });
    const stream = await adapter.stream(request, {
      model: "llama3.2:3b",
      apiKey: undefined,
      signal: new AbortController().signal,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const sent = fake.chatRequests().at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(stream.usage()).toEqual({ inputTokens: 4, outputTokens: 2 });
    await adapter.close();
  });

  it("throws the abort reason when the signal aborts, and an UpstreamError on reset", async () => {
    const adapter = createOpenAIAdapter({ baseUrl: `${fake.origin}/v1` });
    fake.script({ kind: "hang" }, { kind: "reset" });
    const before = fake.requests.length;
    const controller = new AbortController();
    const pending = adapter
      .complete(request, { model: "m", apiKey: "k", signal: controller.signal })
      .catch((e: unknown) => e);
    const reason = new TimeoutError("openai: no answer within 1 s", "openai");
    await fake.waitForRequests(before + 1);
    controller.abort(reason);
    expect(await pending).toBe(reason);
    const reset = await adapter
      .complete(request, { model: "m", apiKey: "k", signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(UpstreamError);
    expect((reset as Error).message).toMatch(/^openai: connection failed \(\w+\)$/);
    await adapter.close();
  });
});
