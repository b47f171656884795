import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

async function post(h: GatewayHarness, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${h.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as { error: { message: string; type: string; code: string } },
  };
}

const user = [{ role: "user", content: "hi" }];

describe("POST /v1/chat/completions bad input", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startHarness({ env: { AI_CONFIG_FILE: "" } });
  });
  afterAll(async () => {
    // Nothing invalid ever reached a provider.
    expect(Object.values(h.fakes).flatMap((fake) => fake.chatRequests())).toHaveLength(0);
    await h.close();
  });

  const cases: [string, string, number, string][] = [
    ["malformed JSON", '{"model": "gpt-4o", "messages": [', 400, "Request body is not valid JSON"],
    [
      "a body that is not an object",
      '["gpt-4o"]',
      400,
      "Request body must be a JSON object with model and messages",
    ],
    [
      "missing messages",
      '{"model": "gpt-4o"}',
      400,
      "Invalid request: messages: must be an array of messages",
    ],
    ["missing model", JSON.stringify({ messages: user }), 400, "Invalid request: model: must be a string"],
    [
      "empty messages",
      JSON.stringify({ model: "gpt-4o", messages: [] }),
      400,
      "Invalid request: messages: must contain at least one message",
    ],
    [
      "messages of the wrong type",
      JSON.stringify({ model: "gpt-4o", messages: "hi" }),
      400,
      "Invalid request: messages: must be an array of messages",
    ],
    [
      "an unknown role",
      JSON.stringify({ model: "gpt-4o", messages: [{ role: "wizard", content: "hi" }] }),
      400,
      "Invalid request: messages[0].role: must be one of system, developer, user, assistant, tool",
    ],
    [
      "content of the wrong type",
      JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: 42 }] }),
      400,
      "Invalid request: messages[0].content: must be a string or an array of content parts",
    ],
    [
      "stream as a string",
      JSON.stringify({ model: "gpt-4o", messages: user, stream: "yes" }),
      400,
      "Invalid request: stream: must be true or false",
    ],
    [
      "stream as a number",
      JSON.stringify({ model: "gpt-4o", messages: user, stream: 1 }),
      400,
      "Invalid request: stream: must be true or false",
    ],
    [
      "temperature out of range",
      JSON.stringify({ model: "gpt-4o", messages: user, temperature: 3 }),
      400,
      "Invalid request: temperature: must be a number from 0 to 2",
    ],
    [
      "max_tokens not a positive integer",
      JSON.stringify({ model: "gpt-4o", messages: user, max_tokens: -5 }),
      400,
      "Invalid request: max_tokens: must be a positive integer",
    ],
    [
      "too many stop sequences",
      JSON.stringify({ model: "gpt-4o", messages: user, stop: ["a", "b", "c", "d", "e"] }),
      400,
      "Invalid request: stop: must be a string or an array of up to 4 strings",
    ],
    [
      "n over 128",
      JSON.stringify({ model: "gpt-4o", messages: user, n: 129 }),
      400,
      "Invalid request: n: must be at most 128",
    ],
    [
      "an unknown provider",
      JSON.stringify({ model: "mistral/large", messages: user }),
      404,
      'Unknown model "mistral/large": "mistral" is not a provider (use one of openai, claude, gemini, groq, ollama, or a routed alias: none configured)',
    ],
    [
      "a provider without a model",
      JSON.stringify({ model: "claude/", messages: user }),
      404,
      'Unknown model "claude/": no model after "claude/"',
    ],
    [
      "a huge prompt",
      JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x".repeat(2_000_001) }] }),
      413,
      "Request body exceeds the 1048576-byte limit",
    ],
  ];

  for (const [what, body, status, message] of cases) {
    it(`fails when the request has ${what}`, async () => {
      const response = await post(h, body);
      expect(response.status).toBe(status);
      expect(response.body.error.message).toBe(message);
    });
  }

  it("fails when the prompt is over the character limit though the body fits", async () => {
    const messages = Array.from({ length: 3 }, () => ({ role: "user", content: "y".repeat(300_000) }));
    const small = await startHarness({ env: {} });
    try {
      small.deps.config.set({
        ...small.deps.config.get(),
        file: { ...small.deps.config.get().file, limits: { maxPromptCharacters: 500_000 } },
      });
      const response = await post(small, JSON.stringify({ model: "gpt-4o", messages }));
      expect(response.status).toBe(413);
      expect(response.body.error).toEqual({
        message: "Prompt too large: 900000 characters (the limit is 500000)",
        type: "request_too_large",
        code: "prompt_too_large",
      });
      expect(small.fakes.openai.chatRequests()).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it("answers 400 with the upstream's message when the provider rejects the request, without failing over", async () => {
    const other = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude", AI_MAX_RETRIES: "2" } });
    try {
      other.fakes.openai.script({
        kind: "error",
        status: 400,
        message: "Unsupported parameter: 'logit_bias'",
      });
      const response = await post(
        other,
        JSON.stringify({ model: "gpt-4o", messages: user, logit_bias: { "1": 2 } }),
      );
      expect(response.status).toBe(400);
      expect(response.body.error).toEqual({
        message: "openai: 400 Unsupported parameter: 'logit_bias'",
        type: "invalid_request_error",
        code: "upstream_bad_request",
      });
      expect(other.fakes.openai.chatRequests()).toHaveLength(1);
      expect(other.fakes.claude.chatRequests()).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});
