import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEmbeddingsRequest } from "../../../app/embeddings/schema";
import { BadRequestError, RateLimitError, UpstreamError } from "../../../app/errors";
import { ClaudeAdapter } from "../../../app/providers/claude";
import {
  decodeEmbeddingBase64,
  EMBEDDING_PROVIDERS,
  embeddingAdapter,
  embeddingVectors,
  encodeEmbeddingBase64,
} from "../../../app/providers/embeddings";
import { GeminiAdapter } from "../../../app/providers/gemini";
import { createGroqAdapter } from "../../../app/providers/groq";
import type { ProviderRegistry } from "../../../app/providers/index";
import { createOllamaAdapter } from "../../../app/providers/ollama";
import { createOpenAIAdapter } from "../../../app/providers/openai";
import type { EmbeddingsResponse } from "../../../app/providers/types";
import { type FakeUpstream, startGeminiFake, startOllamaFake, startOpenAIFake } from "../../fakes";
import { cosine, fakeEmbedding, normalize } from "../../fakes/_embedding-vectors";

// Compile-time check: the gateway's embeddings response is the openai SDK's type.
const _shape = (response: EmbeddingsResponse): OpenAI.CreateEmbeddingResponse => ({
  ...response,
  data: response.data.map((item) => ({ ...item, embedding: item.embedding as number[] })),
});
void _shape;

const call = (model: string, apiKey: string | null = "sk-test-key-1234") => ({
  model,
  apiKey: apiKey ?? undefined,
  signal: new AbortController().signal,
  requestId: "req-1",
});

/** The openai SDK's own base64 decoding: `embeddings.create` against a fetch that answers `body`. */
async function decodeWithSdk(body: EmbeddingsResponse): Promise<number[][]> {
  let sent: Record<string, unknown> | undefined;
  const client = new OpenAI({
    apiKey: "sk-unused",
    baseURL: "http://sdk.invalid/v1",
    fetch: async (_url, init) => {
      sent = JSON.parse(String(init?.body)) as Record<string, unknown>;
      return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
    },
  });
  // No encoding_format: the SDK asks for base64 itself and decodes it into floats.
  const result = await client.embeddings.create({ model: body.model, input: "x" });
  expect(sent?.["encoding_format"]).toBe("base64");
  return result.data.map((item) => item.embedding);
}

describe("OpenAI embeddings", () => {
  let fake: FakeUpstream;
  const adapter = () => createOpenAIAdapter({ baseUrl: `${fake.origin}/v1` });
  beforeAll(async () => {
    fake = await startOpenAIFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("embeds a list of strings in OpenAI's shape, index and usage included", async () => {
    fake.reset();
    const request = parseEmbeddingsRequest({
      model: "openai/text-embedding-3-small",
      input: ["What is the capital of France?", "Tell me the capital of France, please"],
    });
    const result = await adapter().embed(request, call("text-embedding-3-small"));
    expect(fake.embeddingRequests()).toHaveLength(1);
    const sent = fake.embeddingRequests()[0]!;
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.apiKey).toBe("sk-test-key-1234");
    expect(sent.headers["x-request-id"]).toBe("req-1");
    expect(sent.body).toEqual({
      model: "text-embedding-3-small",
      input: ["What is the capital of France?", "Tell me the capital of France, please"],
    });
    expect(result.response.object).toBe("list");
    expect(result.response.model).toBe("text-embedding-3-small");
    expect(result.response.data.map((d) => [d.object, d.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
    ]);
    expect(result.response.usage).toEqual({ prompt_tokens: 13, total_tokens: 13 });
    expect(result.usage).toEqual({ inputTokens: 13, outputTokens: 0 });
    expect(result.estimatedUsage).toBe(false);
    const [a, b] = result.response.data.map((d) => d.embedding as number[]);
    expect(a).toHaveLength(1536);
    expect(cosine(a!, b!)).toBeGreaterThan(0.999);
  });

  it("asks OpenAI for base64 and answers base64 the openai SDK decodes to the float vector", async () => {
    fake.reset();
    const input = "little-endian float32 please";
    const floats = await adapter().embed(
      parseEmbeddingsRequest({ model: "m", input, encoding_format: "float" }),
      call("text-embedding-3-small"),
    );
    const base64 = await adapter().embed(
      parseEmbeddingsRequest({ model: "m", input, encoding_format: "base64" }),
      call("text-embedding-3-small"),
    );
    expect((fake.embeddingRequests()[1]!.body as Record<string, unknown>)["encoding_format"]).toBe("base64");
    expect(typeof base64.response.data[0]!.embedding).toBe("string");
    const decoded = await decodeWithSdk(base64.response);
    expect(decoded[0]).toEqual(floats.response.data[0]!.embedding);
    expect(Array.from(embeddingVectors(base64.response)[0]!)).toEqual(floats.response.data[0]!.embedding);
  });

  it("passes dimensions and token-id inputs through", async () => {
    fake.reset();
    const result = await adapter().embed(
      parseEmbeddingsRequest({ model: "m", input: [[1, 2, 3], [4]], dimensions: 256, user: "u-1" }),
      call("text-embedding-3-large"),
    );
    expect(fake.embeddingRequests()[0]!.body).toEqual({
      model: "text-embedding-3-large",
      input: [[1, 2, 3], [4]],
      dimensions: 256,
      user: "u-1",
    });
    expect(result.response.data.map((d) => (d.embedding as number[]).length)).toEqual([256, 256]);
    expect(
      adapter().unsupportedEmbeddingInput(parseEmbeddingsRequest({ model: "m", input: [1, 2] })),
    ).toBeUndefined();
  });

  it("fails with OpenAI's 400 when the model cannot shorten to dimensions", async () => {
    const error = await adapter()
      .embed(
        parseEmbeddingsRequest({ model: "m", input: "x", dimensions: 64 }),
        call("text-embedding-ada-002"),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toBe(
      "openai: 400 This model does not support specifying dimensions.",
    );
    expect((error as BadRequestError).status).toBe(400);
  });

  it("raises a rate limit with the upstream's Retry-After, and a 500 as an upstream error", async () => {
    fake.reset();
    fake.script({ kind: "rate_limit", retryAfter: "7" }, { kind: "error", status: 500 });
    const request = parseEmbeddingsRequest({ model: "m", input: "x" });
    const limited = await adapter()
      .embed(request, call("text-embedding-3-small"))
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterSeconds).toBe(7);
    const failed = await adapter()
      .embed(request, call("text-embedding-3-small"))
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UpstreamError);
    expect((failed as UpstreamError).status).toBe(500);
    expect((failed as Error).message).not.toContain("sk-test-key-1234");
  });

  it("fails when the upstream answers fewer vectors than inputs", async () => {
    fake.reset();
    fake.script({ kind: "malformed" });
    const error = await adapter()
      .embed(parseEmbeddingsRequest({ model: "m", input: "x" }), call("text-embedding-3-small"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toBe("openai: malformed JSON in the response body");
  });
});

describe("Ollama embeddings (OpenAI-compatible /v1/embeddings)", () => {
  let fake: FakeUpstream;
  const adapter = () => createOllamaAdapter({ baseUrl: fake.origin });
  beforeAll(async () => {
    fake = await startOllamaFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("asks for floats without a key and encodes base64 itself when the client asks for it", async () => {
    fake.reset();
    const result = await adapter().embed(
      parseEmbeddingsRequest({
        model: "ollama/nomic-embed-text",
        input: "hello llama",
        encoding_format: "base64",
      }),
      call("nomic-embed-text", null),
    );
    const sent = fake.embeddingRequests()[0]!;
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({ model: "nomic-embed-text", input: "hello llama" });
    const decoded = await decodeWithSdk(result.response);
    expect(decoded[0]).toEqual(fakeEmbedding("hello llama", 768));
    expect(result.response.usage.prompt_tokens).toBe(2);
  });

  it("shortens to dimensions and refuses token-id input before any call", async () => {
    fake.reset();
    const result = await adapter().embed(
      parseEmbeddingsRequest({ model: "m", input: "hello llama", dimensions: 128 }),
      call("nomic-embed-text", null),
    );
    expect(result.response.data[0]!.embedding).toEqual(
      normalize(fakeEmbedding("hello llama", 768).slice(0, 128)),
    );
    expect(adapter().unsupportedEmbeddingInput(parseEmbeddingsRequest({ model: "m", input: [[1, 2]] }))).toBe(
      "ollama embeds text only, not token-id arrays",
    );
  });

  it("fails with Ollama's message when the model has not been pulled", async () => {
    const error = await adapter()
      .embed(parseEmbeddingsRequest({ model: "m", input: "x" }), call("llama3", null))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe('ollama: 404 model "llama3" not found, try pulling it first');
  });
});

describe("Gemini embeddings (batchEmbedContents)", () => {
  let fake: FakeUpstream;
  const adapter = () => new GeminiAdapter({ baseUrl: fake.origin });
  beforeAll(async () => {
    fake = await startGeminiFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("sends one request per input naming models/<m>, with outputDimensionality, and estimates usage", async () => {
    fake.reset();
    const result = await adapter().embed(
      parseEmbeddingsRequest({
        model: "gemini/gemini-embedding-001",
        input: ["one two", "three"],
        dimensions: 768,
      }),
      call("gemini-embedding-001", "AIzaTestKey123456"),
    );
    const sent = fake.embeddingRequests()[0]!;
    expect(sent.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(sent.apiKey).toBe("AIzaTestKey123456");
    expect(sent.body).toEqual({
      requests: [
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "one two" }] },
          outputDimensionality: 768,
        },
        {
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "three" }] },
          outputDimensionality: 768,
        },
      ],
    });
    expect(result.response.model).toBe("gemini-embedding-001");
    expect(result.response.data.map((d) => [d.index, (d.embedding as number[]).length])).toEqual([
      [0, 768],
      [1, 768],
    ]);
    expect(result.estimatedUsage).toBe(true);
    expect(result.usage.inputTokens).toBeGreaterThanOrEqual(3);
    expect(result.response.usage.prompt_tokens).toBe(result.usage.inputTokens);
  });

  it("answers base64 the openai SDK decodes", async () => {
    const result = await adapter().embed(
      parseEmbeddingsRequest({ model: "m", input: "vector please", encoding_format: "base64" }),
      call("text-embedding-004", "AIzaTestKey123456"),
    );
    expect((await decodeWithSdk(result.response))[0]).toEqual(fakeEmbedding("vector please", 768));
  });

  it("fails with Gemini's INVALID_ARGUMENT for dimensions wider than the model", async () => {
    const error = await adapter()
      .embed(
        parseEmbeddingsRequest({ model: "m", input: "x", dimensions: 5000 }),
        call("gemini-embedding-001", "k"),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as Error).message).toBe(
      "gemini: 400 Request contains an invalid argument. outputDimensionality must be between 1 and 3072",
    );
  });

  it("takes the retry delay from Gemini's RetryInfo on 429, and a 503 is an upstream error", async () => {
    fake.reset();
    fake.script({ kind: "rate_limit" }, { kind: "error", status: 503 });
    const request = parseEmbeddingsRequest({ model: "m", input: "x" });
    const limited = await adapter()
      .embed(request, call("gemini-embedding-001", "k"))
      .catch((e: unknown) => e);
    expect((limited as RateLimitError).retryAfterSeconds).toBe(2);
    const failed = await adapter()
      .embed(request, call("gemini-embedding-001", "k"))
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UpstreamError);
    expect((failed as UpstreamError).status).toBe(503);
  });

  it("refuses token-id input before any call", () => {
    expect(adapter().unsupportedEmbeddingInput(parseEmbeddingsRequest({ model: "m", input: [5, 6] }))).toBe(
      "gemini embeds text only, not token-id arrays",
    );
  });
});

describe("embedding registry and base64", () => {
  it("offers embeddings for openai, gemini and ollama, and none for groq or claude", () => {
    const registry = {
      openai: createOpenAIAdapter({ baseUrl: "http://127.0.0.1:9/v1" }),
      claude: new ClaudeAdapter({ baseUrl: "http://127.0.0.1:9" }),
      gemini: new GeminiAdapter({ baseUrl: "http://127.0.0.1:9" }),
      groq: createGroqAdapter({ baseUrl: "http://127.0.0.1:9/openai/v1" }),
      ollama: createOllamaAdapter({ baseUrl: "http://127.0.0.1:9" }),
    } satisfies ProviderRegistry;
    expect(EMBEDDING_PROVIDERS).toEqual(["openai", "gemini", "ollama"]);
    expect(embeddingAdapter(registry, "openai")).toBe(registry.openai);
    expect(embeddingAdapter(registry, "gemini")).toBe(registry.gemini);
    expect(embeddingAdapter(registry, "ollama")).toBe(registry.ollama);
    expect(embeddingAdapter(registry, "groq")).toBeUndefined();
    expect(embeddingAdapter(registry, "claude")).toBeUndefined();
  });

  it("writes little-endian float32 bytes", () => {
    const encoded = encodeEmbeddingBase64([1, -2.5]);
    expect(Buffer.from(encoded, "base64")).toEqual(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]));
    expect(Array.from(decodeEmbeddingBase64(encoded))).toEqual([1, -2.5]);
  });
});
