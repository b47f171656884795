import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

describe("POST /v1/responses", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude" } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers responses.create through the chat pipeline", async () => {
    h.fakes.openai.reset();
    h.fakes.openai.script({ kind: "answer", text: "Paris" });
    const { data: response, response: raw } = await h.client.responses
      .create({ model: "gpt-4o", instructions: "Answer in one word.", input: "Capital of France?" })
      .withResponse();
    expect(raw.headers.get("x-ai-provider")).toBe("openai");
    expect(raw.headers.get("x-ai-cache")).toBe("miss");
    expect(response.object).toBe("response");
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe("completed");
    expect(response.output_text).toBe("Paris");
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    const sent = h.fakes.openai.chatRequests();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Answer in one word." },
        { role: "user", content: "Capital of France?" },
      ],
    });
  });

  it("streams the Responses event sequence to responses.stream", async () => {
    h.fakes.openai.reset();
    h.fakes.openai.script({ kind: "answer", chunks: ["Par", "is"] });
    const stream = h.client.responses.stream({ model: "gpt-4o", input: "Capital of France?" });
    const types: string[] = [];
    let deltas = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
    }
    const final = await stream.finalResponse();
    expect(deltas).toBe("Paris");
    expect(final.output_text).toBe("Paris");
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(types[0]).toBe("response.created");
    expect(types[1]).toBe("response.in_progress");
    expect(types.at(-1)).toBe("response.completed");
    expect(types).toContain("response.output_item.done");
  });

  it("fails over to the fallback provider like chat", async () => {
    h.fakes.openai.reset();
    h.fakes.claude.reset();
    h.fakes.openai.script({ kind: "error", status: 500 });
    h.fakes.claude.script({ kind: "answer", text: "Paris from Claude" });
    const { data: response, response: raw } = await h.client.responses
      .create({ model: "gpt-4o", input: "Capital of France?" })
      .withResponse();
    expect(raw.headers.get("x-ai-provider")).toBe("claude");
    expect(response.output_text).toBe("Paris from Claude");
    expect(h.fakes.claude.chatRequests()).toHaveLength(1);
  });

  it("fails with a 400 for previous_response_id and store: true, before any call", async () => {
    h.fakes.openai.reset();
    for (const [field, extra] of [
      ["previous_response_id", { previous_response_id: "resp_123" }],
      ["store", { store: true }],
    ] as const) {
      const error = await h.client.responses
        .create({ model: "gpt-4o", input: "hi", ...extra })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: 400 });
      expect((error as Error).message).toBe(
        `400 Invalid request: ${field} is not supported: this gateway is stateless and keeps no responses: send the whole conversation in input (with store unset or false)`,
      );
    }
    expect(h.fakes.openai.chatRequests()).toHaveLength(0);
  });

  it("serves the Vercel AI SDK's default provider: generateText and streamText", async () => {
    h.fakes.openai.reset();
    h.fakes.openai.script(
      { kind: "answer", text: "Paris" },
      { kind: "answer", chunks: ["Lyon", " and Nice"] },
    );
    const model = createOpenAI({ baseURL: `${h.url}/v1`, apiKey: "client-key" })("gpt-4o");
    const generated = await generateText({ model, prompt: "Capital of France?", maxRetries: 0 });
    expect(generated.text).toBe("Paris");
    expect(generated.usage.inputTokens).toBeGreaterThan(0);
    const streamed = streamText({ model, prompt: "Two other French cities?", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe("Lyon and Nice");
    expect(await streamed.finishReason).toBe("stop");
    // Both went through /v1/responses to the chat upstream.
    expect(h.fakes.openai.chatRequests()).toHaveLength(2);
  });
});
