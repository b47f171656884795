import { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import type { FallbackEvent } from "../../../app/observability/events";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const PDF = "data:application/pdf;base64,JVBERi0xLjQK";

function withParts(model: string, ...parts: object[]) {
  return {
    model,
    messages: [{ role: "user", content: [{ type: "text", text: "What is in this?" }, ...parts] }],
  } as unknown as { model: string; messages: [] };
}

const audio = { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } };
const pdf = { type: "file", file: { file_data: PDF, filename: "report.pdf" } };

describe("audio and file content parts", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("sends a base64 PDF to Claude as a document block", async () => {
    h = await startHarness();
    const reply = await h.client.chat.completions.create(withParts("claude/claude-3-5-haiku-latest", pdf));
    expect(reply.choices[0]?.message.content).toBe("Hello from claude");
    const sent = h.fakes.claude.chatRequests()[0]!;
    expect((sent.body as { messages: unknown[] }).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this?" },
          {
            type: "document",
            source: { type: "base64", media_type: "application/pdf", data: "JVBERi0xLjQK" },
            title: "report.pdf",
          },
        ],
      },
    ]);
  });

  it("sends audio and a PDF to Gemini as inline data", async () => {
    h = await startHarness();
    const reply = await h.client.chat.completions.create(withParts("gemini/gemini-2.0-flash", audio, pdf));
    expect(reply.choices[0]?.message.content).toBe("Hello from gemini");
    const sent = h.fakes.gemini.chatRequests()[0]!;
    expect((sent.body as { contents: unknown[] }).contents).toEqual([
      {
        role: "user",
        parts: [
          { text: "What is in this?" },
          { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
          { inlineData: { mimeType: "application/pdf", data: "JVBERi0xLjQK" } },
        ],
      },
    ]);
  });

  it("fails when an audio part is sent to Claude, before any upstream call", async () => {
    h = await startHarness();
    const failure = await h.client.chat.completions
      .create(withParts("claude/claude-3-5-haiku-latest", audio))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBe(400);
    expect((failure as APIError).message).toBe(
      "400 messages[0].content[1]: input_audio parts are not supported by claude",
    );
    expect((failure as APIError).type).toBe("invalid_request_error");
    expect(h.fakes.claude.chatRequests()).toHaveLength(0);
  });

  it("fails when a file is sent to Gemini by id, which it cannot resolve", async () => {
    h = await startHarness();
    const failure = await h.client.chat.completions
      .create(withParts("gemini/gemini-2.0-flash", { type: "file", file: { file_id: "file-abc123" } }))
      .catch((error: unknown) => error);
    expect((failure as APIError).status).toBe(400);
    expect((failure as APIError).message).toBe(
      "400 messages[0].content[1]: file parts are supported by gemini only as base64 PDF, audio, image or text/plain data (file_data: data:<type>;base64,...)",
    );
    expect(h.fakes.gemini.chatRequests()).toHaveLength(0);
  });

  it("skips a target that cannot take the content and serves from the next one", async () => {
    h = await startHarness({
      env: { AI_PROVIDER: "claude", AI_MODEL: "claude-3-5-haiku-latest", AI_FALLBACK_PROVIDERS: "openai" },
    });
    const fallbacks: FallbackEvent[] = [];
    h.deps.events.on("onFallback", (event) => fallbacks.push(event));
    const { data, response } = await h.client.chat.completions
      .create(withParts("claude-3-5-haiku-latest", audio))
      .withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("openai");
    expect(fallbacks).toMatchObject([{ from: "claude", to: "openai", reason: "bad_request" }]);
    expect(data.choices[0]?.message.content).toBe("Hello from openai");
    expect(h.fakes.claude.chatRequests()).toHaveLength(0);
    const sent = h.fakes.openai.chatRequests()[0]!;
    expect((sent.body as { messages: { content: unknown[] }[] }).messages[0]?.content[1]).toEqual(audio);
  });
});
