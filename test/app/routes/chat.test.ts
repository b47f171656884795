import { afterEach, describe, expect, it } from "vitest";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

describe("POST /v1/chat/completions", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("answers through the primary provider with the chat headers", async () => {
    h = await startHarness();
    h.fakes.openai.script({ kind: "answer", text: "Hi there", usage: { input: 7, output: 2 } });
    const { data, response } = await h.client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Hi there");
    expect(data.usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
    expect(response.headers.get("x-ai-provider")).toBe("openai");
    expect(response.headers.get("x-ai-attempts")).toBe("1");
    expect(response.headers.get("x-ai-cache")).toBe("miss");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const [upstream] = h.fakes.openai.chatRequests();
    expect(upstream?.apiKey).toBe("sk-test-openai-1");
    expect(upstream?.body).toEqual({ model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] });
  });

  it("streams OpenAI chunks ending with [DONE]", async () => {
    h = await startHarness();
    h.fakes.openai.script({ kind: "answer", chunks: ["Hel", "lo"], usage: { input: 3, output: 2 } });
    const stream = await h.client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Hello");
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });
});
