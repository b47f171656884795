import { describe, expect, it } from "vitest";
import { conversationText, semanticIneligibility, semanticScopeKey } from "../../../../app/cache/semantic";
import { parseChatRequest } from "../../../../app/chat/schema";

const base = {
  model: "openai/gpt-4o-mini",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is the capital of France?" },
  ],
  temperature: 0,
};
const key = (overrides: Record<string, unknown> = {}, scope: Record<string, string> = {}) =>
  semanticScopeKey({
    tenant: "t1",
    provider: "openai",
    model: "gpt-4o-mini",
    embeddingModel: "openai/text-embedding-3-small",
    ...scope,
    request: parseChatRequest({ ...base, ...overrides }),
  });

describe("semanticScopeKey", () => {
  it("ignores the messages and how the answer travels, and nothing else", () => {
    expect(key({ messages: [{ role: "user", content: "Something else entirely" }] })).toBe(key());
    expect(key({ stream: true, stream_options: { include_usage: true } })).toBe(key());
    expect(key({ model: "gpt-4o-mini" })).toBe(key());
    const changed = [
      key({ temperature: 0.1 }),
      key({ max_tokens: 5 }),
      key({ stop: "END" }),
      key({ user: "u2" }),
      key({ a_future_parameter: 1 }),
      key({}, { tenant: "t2" }),
      key({}, { provider: "groq" }),
      key({}, { model: "gpt-4o" }),
      key({}, { embeddingModel: "ollama/nomic-embed-text" }),
    ];
    expect(new Set([key(), ...changed]).size).toBe(changed.length + 1);
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("conversationText and semanticIneligibility", () => {
  it("embeds the conversation as role-prefixed lines", () => {
    expect(conversationText(parseChatRequest(base).messages)).toBe(
      "system: Be brief.\nuser: What is the capital of France?",
    );
  });

  it("says why tools, several choices, sampling or images keep a request out of the semantic cache", () => {
    const request = (extra: Record<string, unknown>) => parseChatRequest({ ...base, ...extra });
    expect(semanticIneligibility(request({}))).toBeUndefined();
    expect(semanticIneligibility(request({ tools: [{ type: "function", function: { name: "f" } }] }))).toBe(
      "tools",
    );
    expect(semanticIneligibility(request({ temperature: 0.7 }))).toBe("temperature > 0");
    expect(semanticIneligibility(request({ temperature: undefined }))).toBe("temperature > 0");
    expect(semanticIneligibility(request({ temperature: 0.7 }), { allowTemperature: true })).toBeUndefined();
    expect(
      semanticIneligibility(
        request({
          messages: [
            {
              role: "user",
              content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }],
            },
          ],
        }),
      ),
    ).toBe("non-text content");
  });
});
