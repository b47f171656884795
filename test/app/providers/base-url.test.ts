import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import { ConfigError, loadConfig } from "../../../app/config/load-config";
import { createProviders } from "../../../app/providers";
import { ClaudeAdapter } from "../../../app/providers/claude";
import { GeminiAdapter } from "../../../app/providers/gemini";
import { createGroqAdapter } from "../../../app/providers/groq";
import { createOllamaAdapter } from "../../../app/providers/ollama";
import { createOpenAIAdapter } from "../../../app/providers/openai";
import type { ProviderAdapter } from "../../../app/providers/types";
import { type FakeUpstream, startAnthropicFake, startGeminiFake, startOpenAIFake } from "../../fakes";

const request = parseChatRequest({ model: "m", messages: [{ role: "user", content: "Hi" }] });
const call = { model: "m", apiKey: "k-123456", signal: new AbortController().signal };

describe("provider base URLs, with or without the API version", () => {
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

  const cases: {
    name: string;
    fake: () => FakeUpstream;
    make: (origin: string) => ProviderAdapter[];
    path: string;
  }[] = [
    {
      name: "openai",
      fake: () => openai,
      make: (o) => [createOpenAIAdapter({ baseUrl: `${o}/v1` }), createOpenAIAdapter({ baseUrl: o })],
      path: "/v1/chat/completions",
    },
    {
      name: "groq",
      fake: () => openai,
      make: (o) => [
        createGroqAdapter({ baseUrl: `${o}/openai/v1` }),
        createGroqAdapter({ baseUrl: `${o}/openai/` }),
      ],
      path: "/openai/v1/chat/completions",
    },
    {
      name: "ollama",
      fake: () => openai,
      make: (o) => [createOllamaAdapter({ baseUrl: o }), createOllamaAdapter({ baseUrl: `${o}/v1/` })],
      path: "/v1/chat/completions",
    },
    {
      name: "claude",
      fake: () => claude,
      make: (o) => [new ClaudeAdapter({ baseUrl: o }), new ClaudeAdapter({ baseUrl: `${o}/v1` })],
      path: "/v1/messages",
    },
    {
      name: "gemini",
      fake: () => gemini,
      make: (o) => [new GeminiAdapter({ baseUrl: o }), new GeminiAdapter({ baseUrl: `${o}/v1beta/` })],
      path: "/v1beta/models/m:generateContent",
    },
  ];

  for (const { name, fake, make, path } of cases) {
    it(`calls ${name} at ${path} whichever form the base URL takes`, async () => {
      for (const adapter of make(fake().origin)) {
        const before = fake().requests.length;
        const result = await adapter.complete(request, call);
        expect(result.completion.choices).toHaveLength(1);
        expect(fake().requests[before]?.path).toBe(path);
        await adapter.close();
      }
    });
  }

  it("builds every adapter from config with either form", async () => {
    const config = loadConfig({ OPENAI_BASE_URL: openai.origin, CLAUDE_BASE_URL: `${claude.origin}/v1` });
    const registry = createProviders(config);
    const before = [openai.requests.length, claude.requests.length];
    await registry.openai.complete(request, call);
    await registry.claude.complete(request, call);
    expect(openai.requests[before[0]!]?.path).toBe("/v1/chat/completions");
    expect(claude.requests[before[1]!]?.path).toBe("/v1/messages");
    await Promise.all(Object.values(registry).map((adapter) => adapter.close()));
  });

  it("fails when a base URL is not an http(s) URL, saying what each provider expects", () => {
    let error: unknown;
    try {
      loadConfig({ OPENAI_BASE_URL: "api.openai.com/v1", CLAUDE_BASE_URL: "ftp://api.anthropic.com?x=1" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'OPENAI_BASE_URL: "api.openai.com/v1" is not allowed; expected the API root with or without /v1, for example https://api.openai.com/v1 (http or https, no query)',
      'CLAUDE_BASE_URL: "ftp://api.anthropic.com?x=1" is not allowed; expected the API root with or without /v1, for example https://api.anthropic.com (http or https, no query)',
    ]);
  });
});
