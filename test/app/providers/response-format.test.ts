import { zodResponseFormat } from "openai/helpers/zod";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type ChatRequest, parseChatRequest } from "../../../app/chat/schema";
import type { ChatCompletionChunk } from "../../../app/chat/types";
import { ClaudeAdapter } from "../../../app/providers/claude";
import { GeminiAdapter } from "../../../app/providers/gemini";
import { createGroqAdapter } from "../../../app/providers/groq";
import { createOllamaAdapter } from "../../../app/providers/ollama";
import { createOpenAIAdapter } from "../../../app/providers/openai";
import type { ProviderAdapter } from "../../../app/providers/types";
import {
  anthropicToolUse,
  type FakeUpstream,
  startAnthropicFake,
  startGeminiFake,
  startOpenAIFake,
} from "../../fakes";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

// Issue 14 finding 9: JSON modes (`response_format` json_object and json_schema)
// through every adapter, and a failover OpenAI -> Claude the OpenAI SDK's
// `.parse()` accepts.

const CITY_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "number" } },
  required: ["city", "population"],
  additionalProperties: false,
};
const ANSWER = { city: "Paris", population: 2_100_000 };

const FORMATS = {
  json_object: { type: "json_object" },
  json_schema: { type: "json_schema", json_schema: { name: "city", schema: CITY_SCHEMA, strict: true } },
} as const;

function ask(format: keyof typeof FORMATS, extra: Record<string, unknown> = {}): ChatRequest {
  return parseChatRequest({
    model: "m",
    messages: [{ role: "user", content: "Largest city of France, as JSON?" }],
    response_format: FORMATS[format],
    ...extra,
  });
}

const call = (model: string) => ({ model, apiKey: "k-123456", signal: new AbortController().signal });

async function collect(adapter: ProviderAdapter, request: ChatRequest, model: string) {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of await adapter.stream(request, call(model))) chunks.push(chunk);
  return {
    content: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join(""),
    finish: chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean),
    toolCalls: chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []),
  };
}

describe("response_format through every adapter", () => {
  let openai: FakeUpstream;
  let claude: FakeUpstream;
  let gemini: FakeUpstream;
  beforeAll(async () => {
    [openai, claude, gemini] = await Promise.all([
      startOpenAIFake(),
      startAnthropicFake(),
      startGeminiFake(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([openai.close(), claude.close(), gemini.close()]);
  });

  const compatible: [string, (origin: string) => ProviderAdapter][] = [
    ["openai", (o) => createOpenAIAdapter({ baseUrl: `${o}/v1` })],
    ["groq", (o) => createGroqAdapter({ baseUrl: `${o}/openai/v1` })],
    ["ollama", (o) => createOllamaAdapter({ baseUrl: o })],
  ];
  for (const [name, make] of compatible) {
    for (const format of ["json_object", "json_schema"] as const) {
      it(`${name} passes ${format} through as OpenAI defines it`, async () => {
        const adapter = make(openai.origin);
        openai.script({ kind: "answer", text: JSON.stringify(ANSWER) });
        const result = await adapter.complete(ask(format), call("m"));
        expect(openai.chatRequests().at(-1)?.body).toMatchObject({ response_format: FORMATS[format] });
        expect(JSON.parse(result.completion.choices[0]!.message.content as string)).toEqual(ANSWER);
        await adapter.close();
      });
    }
  }

  for (const format of ["json_object", "json_schema"] as const) {
    it(`gemini asks for application/json${format === "json_schema" ? " with the JSON Schema" : ""} for ${format}`, async () => {
      const adapter = new GeminiAdapter({ baseUrl: gemini.origin });
      gemini.script({ kind: "answer", text: JSON.stringify(ANSWER) });
      const result = await adapter.complete(ask(format), call("gemini-1.5-flash"));
      expect((gemini.chatRequests().at(-1)!.body as { generationConfig: unknown }).generationConfig).toEqual(
        format === "json_schema"
          ? { responseMimeType: "application/json", responseJsonSchema: CITY_SCHEMA }
          : { responseMimeType: "application/json" },
      );
      expect(JSON.parse(result.completion.choices[0]!.message.content as string)).toEqual(ANSWER);
      await adapter.close();
    });
  }

  const claudeTools = {
    json_object: {
      tools: [
        {
          name: "json_response",
          description: "Give the complete answer as one JSON object.",
          input_schema: { type: "object" },
        },
      ],
      tool_choice: { type: "tool", name: "json_response" },
    },
    json_schema: {
      tools: [
        {
          name: "city",
          description: "Give the complete answer as JSON matching the city schema.",
          input_schema: CITY_SCHEMA,
        },
      ],
      tool_choice: { type: "tool", name: "city" },
    },
  };
  for (const format of ["json_object", "json_schema"] as const) {
    const tool = claudeTools[format].tool_choice.name;

    it(`claude answers ${format} through a forced tool whose input is the JSON content`, async () => {
      const adapter = new ClaudeAdapter({ baseUrl: claude.origin });
      claude.script(anthropicToolUse(tool, ANSWER));
      const result = await adapter.complete(ask(format), call("claude-3-5-haiku-latest"));
      expect(claude.chatRequests().at(-1)?.body).toMatchObject(claudeTools[format]);
      const choice = result.completion.choices[0]!;
      expect(choice.message).toEqual({ role: "assistant", content: JSON.stringify(ANSWER) });
      expect(choice.finish_reason).toBe("stop");
      await adapter.close();
    });

    it(`claude streams ${format} as content chunks, not tool calls`, async () => {
      const adapter = new ClaudeAdapter({ baseUrl: claude.origin });
      claude.script(anthropicToolUse(tool, ANSWER));
      const streamed = await collect(adapter, ask(format), "claude-3-5-haiku-latest");
      expect(claude.chatRequests().at(-1)?.body).toMatchObject({ ...claudeTools[format], stream: true });
      expect(JSON.parse(streamed.content)).toEqual(ANSWER);
      expect(streamed.finish).toEqual(["stop"]);
      expect(streamed.toolCalls).toEqual([]);
      await adapter.close();
    });
  }

  it("claude offers the client's tools beside the response tool and passes a call to one through", async () => {
    const adapter = new ClaudeAdapter({ baseUrl: claude.origin });
    claude.script(anthropicToolUse("lookup", { q: "France" }));
    const request = ask("json_schema", {
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
    });
    const result = await adapter.complete(request, call("claude-3-5-haiku-latest"));
    const sent = claude.chatRequests().at(-1)?.body as { tools: { name: string }[]; tool_choice: unknown };
    expect(sent.tools.map((t) => t.name)).toEqual(["lookup", "city"]);
    expect(sent.tool_choice).toEqual({ type: "any" });
    const choice = result.completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls?.[0]?.function).toEqual({ name: "lookup", arguments: '{"q":"France"}' });
    await adapter.close();
  });
});

describe("failover OpenAI -> Claude with the OpenAI SDK's parse()", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const City = z.object({ city: z.string(), population: z.number() });

  it("parses the JSON Claude gives through the response tool", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude" } });
    h.fakes.openai.script({ kind: "error", status: 503 });
    h.fakes.claude.script(anthropicToolUse("city", ANSWER));

    const { data, response } = await h.client.chat.completions
      .parse({
        model: "gpt-4o",
        messages: [{ role: "user", content: "Largest city of France?" }],
        response_format: zodResponseFormat(City, "city"),
      })
      .withResponse();

    expect(response.headers.get("x-ai-provider")).toBe("claude");
    expect(data.choices[0]?.message.parsed).toEqual(ANSWER);
    const sent = h.fakes.claude.chatRequests()[0]?.body as {
      tool_choice: unknown;
      tools: { name: string }[];
    };
    expect(sent.tool_choice).toEqual({ type: "tool", name: "city" });
  });

  it("parses a streamed answer the same way", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude" } });
    h.fakes.openai.script({ kind: "error", status: 503 });
    h.fakes.claude.script(anthropicToolUse("city", ANSWER));

    const stream = h.client.chat.completions.stream({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Largest city of France?" }],
      response_format: zodResponseFormat(City, "city"),
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.parsed).toEqual(ANSWER);
  });
});
