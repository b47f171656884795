import { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import type { ResponseEvent } from "../../../app/observability/events";
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

  it("routes <provider>/<model> to that provider, then the fallbacks", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "groq/llama-3.1-8b-instant" } });
    h.fakes.gemini.script({ kind: "error", status: 500 });
    const { response } = await h.client.chat.completions
      .create({ model: "gemini/gemini-1.5-pro", messages: [{ role: "user", content: "Hi" }] })
      .withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("groq");
    expect(h.fakes.gemini.chatRequests()[0]?.path).toBe("/v1beta/models/gemini-1.5-pro:generateContent");
    expect(h.fakes.groq.chatRequests()[0]?.path).toBe("/openai/v1/chat/completions");
    expect(h.fakes.groq.chatRequests()[0]?.body).toMatchObject({ model: "llama-3.1-8b-instant" });
  });

  it("spreads a round-robin alias across its targets", async () => {
    const file = JSON.stringify({
      routes: {
        fast: {
          strategy: "round-robin",
          targets: [
            { provider: "groq", model: "llama-3.1-8b-instant" },
            { provider: "ollama", model: "llama3.2:3b" },
          ],
        },
      },
    });
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const path = join(mkdtempSync(join(tmpdir(), "gw-")), "routes.json");
    writeFileSync(path, file);
    h = await startHarness({ env: { AI_CONFIG_FILE: path } });
    const providers: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const { response } = await h.client.chat.completions
        .create({ model: "fast", messages: [{ role: "user", content: "Hi" }] })
        .withResponse();
      providers.push(response.headers.get("x-ai-provider"));
    }
    expect(providers).toEqual(["groq", "ollama", "groq", "ollama"]);
    expect(h.fakes.ollama.chatRequests()[0]?.path).toBe("/v1/chat/completions");
    expect(h.fakes.ollama.chatRequests()[0]?.headers.authorization).toBeUndefined();
    const models = await h.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([
      "fast",
      "openai/gpt-4o",
      "groq/llama-3.1-8b-instant",
      "ollama/llama3.2:3b",
    ]);
  });

  it("streams through Claude and Gemini in OpenAI chunk format", async () => {
    h = await startHarness();
    h.fakes.claude.script({ kind: "answer", chunks: ["Bon", "jour"], usage: { input: 9, output: 4 } });
    h.fakes.gemini.script({ kind: "answer", chunks: ["Hal", "lo"], usage: { input: 8, output: 3 } });
    for (const [model, expected, usage] of [
      [
        "claude/claude-3-5-haiku-latest",
        "Bonjour",
        { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
      ],
      ["gemini/gemini-1.5-flash", "Hallo", { prompt_tokens: 8, completion_tokens: 3, total_tokens: 11 }],
    ] as const) {
      const stream = await h.client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null | undefined;
      let reported: unknown;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) reported = chunk.usage;
      }
      expect(text).toBe(expected);
      expect(finish).toBe("stop");
      expect(reported).toEqual(usage);
    }
  });

  it("sends x-ai-cache: bypass for Cache-Control: no-cache and reads the tenant the auth step set", async () => {
    h = await startHarness();
    const seen: ResponseEvent[] = [];
    h.deps.events.on("onResponse", (event) => seen.push(event));
    const { response } = await h.client.chat.completions
      .create(
        { model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] },
        { headers: { "cache-control": "no-cache" } },
      )
      .withResponse();
    expect(response.headers.get("x-ai-cache")).toBe("bypass");
    expect(seen).toMatchObject([
      { tenant: "anonymous", provider: "openai", inputTokens: 12, outputTokens: 5, cacheHit: false },
    ]);
  });

  it("answers 504 naming the providers when the last one timed out", async () => {
    h = await startHarness({ env: { AI_TIMEOUT_SECONDS: "0.5", AI_FALLBACK_PROVIDERS: "claude" } });
    h.fakes.openai.script({ kind: "error", status: 503 });
    h.fakes.claude.script({ kind: "hang" });
    const failure = await h.client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBe(504);
    expect((failure as APIError).headers?.get("x-ai-attempts")).toBe("2");
    expect((failure as APIError).error).toEqual({
      message:
        "All providers failed: openai/gpt-4o: upstream (openai: 503 The server had an error while processing your request); claude/claude-3-5-haiku-latest: timeout (claude: no answer within 0.5 s)",
      type: "timeout_error",
      code: "upstream_timeout",
    });
  });

  it("answers the degraded reply with x-ai-degraded when configured and everything failed", async () => {
    h = await startHarness({ env: { AI_DEGRADED_REPLY: "true" } });
    h.fakes.openai.script({ kind: "malformed" });
    const { data, response } = await h.client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ai-degraded")).toBe("true");
    expect(data.choices[0]?.message.content).toBe(
      "I apologize, but I'm experiencing technical difficulties. Please try again in a moment or contact support if the issue persists.",
    );
  });

  it("logs each hook as structured JSON with request id, provider, attempt and tokens, never the key", async () => {
    h = await startHarness({ env: { AI_MAX_RETRIES: "1", OPENAI_API_KEY: "sk-secret-value-123456" } });
    h.fakes.openai.script({ kind: "error", status: 500 });
    await h.client.chat.completions.create(
      { model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] },
      { headers: { "x-request-id": "req-log-1" } },
    );
    const records = h.deps.logs.records().filter((r) => r["requestId"] === "req-log-1");
    expect(records.map((r) => r["event"])).toEqual(["request", "retry", "response"]);
    expect(records[1]).toMatchObject({ provider: "openai", model: "gpt-4o", attempt: 1, reason: "upstream" });
    expect(records[2]).toMatchObject({ provider: "openai", attempts: 2, inputTokens: 12, outputTokens: 5 });
    expect(typeof records[2]?.["durationMs"]).toBe("number");
    expect(h.deps.logs.lines.join("\n")).not.toContain("sk-secret-value");
    expect(h.fakes.openai.chatRequests()[0]?.headers.authorization).toBe("Bearer sk-secret-value-123456");
  });

  it("streams the degraded reply when configured and every target failed before the first chunk", async () => {
    h = await startHarness({ env: { AI_DEGRADED_REPLY: "true" } });
    h.fakes.openai.script({ kind: "error", status: 503 });
    const { data: stream, response } = await h.client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }], stream: true })
      .withResponse();
    expect(response.headers.get("x-ai-degraded")).toBe("true");
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(
      "I apologize, but I'm experiencing technical difficulties. Please try again in a moment or contact support if the issue persists.",
    );
  });
});
