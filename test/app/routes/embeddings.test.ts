import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeEmbedding, normalize } from "../../fakes/_embedding-vectors";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";
import { ledgerGatewaySuite } from "../../helpers/ledger-gateway";

const TEXTS = ["What is the capital of France?", "Tell me the capital of France, please"];

function closeTo(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
}

describe("POST /v1/embeddings through the openai SDK", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    const path = join(mkdtempSync(join(tmpdir(), "gw-embed-")), "routes.json");
    writeFileSync(
      path,
      JSON.stringify({
        routes: {
          "embed-small": {
            targets: [
              { provider: "openai", model: "text-embedding-3-small" },
              { provider: "gemini", model: "gemini-embedding-001" },
            ],
          },
        },
      }),
    );
    h = await startHarness({ env: { AI_EMBEDDING_PROVIDER: "openai", AI_CONFIG_FILE: path } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("answers base64 by default, which the SDK decodes into the upstream's floats", async () => {
    h.fakes.openai.reset();
    const { data: result, response } = await h.client.embeddings
      .create({ model: "openai/text-embedding-3-small", input: TEXTS })
      .withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("openai");
    expect(response.headers.get("x-ai-attempts")).toBe("1");
    const sent = h.fakes.openai.embeddingRequests();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ model: "text-embedding-3-small", input: TEXTS });
    expect(result.data.map((item) => item.index)).toEqual([0, 1]);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
    const floats = await h.client.embeddings.create({
      model: "openai/text-embedding-3-small",
      input: TEXTS,
      encoding_format: "float",
    });
    for (const [index, item] of result.data.entries()) closeTo(item.embedding, floats.data[index]!.embedding);
  });

  it("answers floats as the upstream computed them when asked for float", async () => {
    const result = await h.client.embeddings.create({
      model: "text-embedding-3-small",
      input: "hello world",
      encoding_format: "float",
      dimensions: 8,
    });
    expect(result.model).toBe("text-embedding-3-small");
    expect(result.data).toHaveLength(1);
    closeTo(result.data[0]!.embedding, normalize(fakeEmbedding("hello world", 1536).slice(0, 8)));
  });

  it("fails over along a route alias when the first target fails", async () => {
    h.fakes.openai.reset();
    h.fakes.gemini.reset();
    h.fakes.openai.script({ kind: "error", status: 503 });
    const { data: result, response } = await h.client.embeddings
      .create({ model: "embed-small", input: TEXTS, encoding_format: "float" })
      .withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("gemini");
    expect(response.headers.get("x-ai-attempts")).toBe("2");
    expect(h.fakes.openai.embeddingRequests()).toHaveLength(1);
    expect(h.fakes.gemini.embeddingRequests()).toHaveLength(1);
    expect(result.data).toHaveLength(2);
  });

  it("answers 502 naming every target when all fail", async () => {
    h.fakes.openai.reset();
    h.fakes.gemini.reset();
    h.fakes.openai.script({ kind: "error", status: 500 });
    h.fakes.gemini.script({ kind: "error", status: 500 });
    const error = await h.client.embeddings
      .create({ model: "embed-small", input: "x" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 502 });
    expect((error as Error).message).toContain("All providers failed: openai/text-embedding-3-small");
    expect((error as Error).message).toContain("gemini/gemini-embedding-001");
  });

  it("fails when the provider has no embeddings API, before any call", async () => {
    h.fakes.groq.reset();
    const error = await h.client.embeddings
      .create({ model: "groq/llama-3.1-8b-instant", input: "x" })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 400 });
    expect((error as Error).message).toBe(
      '400 Cannot embed with "groq/llama-3.1-8b-instant": groq has no embeddings API (use one of openai, gemini, ollama)',
    );
    expect(h.fakes.groq.embeddingRequests()).toHaveLength(0);
  });

  it("fails on bad input with a 400 naming the field", async () => {
    const response = await fetch(`${h.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "text-embedding-3-small", input: [] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      "Invalid request: input: must not be an empty array",
    );
  });
});

describe("POST /v1/embeddings is billed in the ledger", () => {
  const suite = ledgerGatewaySuite({ env: { AI_EMBEDDING_PROVIDER: "openai" } });

  it("writes a row of kind embedding priced per input token", async () => {
    const result = await suite.gateway.client.embeddings.create({
      model: "text-embedding-3-small",
      input: TEXTS,
    });
    const tokens = result.usage.prompt_tokens;
    await suite.gateway.ledger.usage(new Date().toISOString().slice(0, 10));
    const rows = await suite.sql.query(
      `SELECT kind, provider, model, input_tokens, output_tokens, cost_usd::float8 AS cost FROM ${suite.schema}.ledger_requests`,
    );
    expect(rows.rows).toEqual([
      {
        kind: "embedding",
        provider: "openai",
        model: "text-embedding-3-small",
        input_tokens: tokens,
        output_tokens: 0,
        // $0.02 per million input tokens.
        cost: expect.closeTo((tokens * 0.02) / 1e6, 15),
      },
    ]);
  });
});
