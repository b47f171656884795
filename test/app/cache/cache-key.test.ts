import { describe, expect, it } from "vitest";
import { cacheKey } from "../../../app/cache/cache-key";

const base = {
  tenant: "key-a",
  provider: "openai",
  model: "gpt-4o-mini",
  request: {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "What is the capital of France?" }],
  },
};

// One changed value per generation parameter of the OpenAI chat API (and a few
// vendor extensions): each must give a different key.
const PARAMETERS: ReadonlyArray<readonly [string, unknown, unknown]> = [
  ["temperature", 0.2, 0.3],
  ["top_p", 0.9, 0.95],
  ["max_tokens", 100, 101],
  ["max_completion_tokens", 100, 200],
  ["n", 1, 2],
  ["stop", ["\n"], ["END"]],
  ["presence_penalty", 0, 0.5],
  ["frequency_penalty", 0, 0.5],
  ["logit_bias", { "50256": -100 }, { "50256": 100 }],
  ["seed", 1, 2],
  ["logprobs", false, true],
  ["top_logprobs", 1, 2],
  ["user", "u1", "u2"],
  [
    "tools",
    [{ type: "function", function: { name: "weather", parameters: { type: "object" } } }],
    [{ type: "function", function: { name: "time", parameters: { type: "object" } } }],
  ],
  ["tool_choice", "auto", "required"],
  ["parallel_tool_calls", true, false],
  ["response_format", { type: "text" }, { type: "json_object" }],
  ["reasoning_effort", "low", "high"],
  ["verbosity", "low", "high"],
  ["service_tier", "auto", "flex"],
  ["modalities", ["text"], ["text", "audio"]],
  ["audio", { voice: "alloy", format: "mp3" }, { voice: "echo", format: "mp3" }],
  ["prediction", { type: "content", content: "a" }, { type: "content", content: "b" }],
  ["metadata", { a: "1" }, { a: "2" }],
  ["store", false, true],
  ["web_search_options", { search_context_size: "low" }, { search_context_size: "high" }],
  ["functions", [{ name: "f" }], [{ name: "g" }]],
  ["function_call", "auto", "none"],
  ["top_k", 10, 20],
  ["some_future_parameter", "a", "b"],
];

describe("cacheKey", () => {
  it("is a SHA-256 hex digest and stable for the same input", () => {
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey(base)).toBe(cacheKey(structuredClone(base)));
  });

  it.each(PARAMETERS)("changes when %s changes", (name, first, second) => {
    const one = cacheKey({ ...base, request: { ...base.request, [name]: first } });
    const two = cacheKey({ ...base, request: { ...base.request, [name]: second } });
    const absent = cacheKey(base);
    expect(one).not.toBe(two);
    expect(one).not.toBe(absent);
  });

  it("changes when a message changes (content, role, order, count)", () => {
    const keys = new Set(
      [
        [{ role: "user", content: "What is the capital of France?" }],
        [{ role: "user", content: "What is the capital of Spain?" }],
        [{ role: "system", content: "What is the capital of France?" }],
        [
          { role: "system", content: "Be terse." },
          { role: "user", content: "What is the capital of France?" },
        ],
        [
          { role: "user", content: "What is the capital of France?" },
          { role: "system", content: "Be terse." },
        ],
      ].map((messages) => cacheKey({ ...base, request: { ...base.request, messages } })),
    );
    expect(keys.size).toBe(5);
  });

  it("changes with the resolved provider", () => {
    expect(cacheKey({ ...base, provider: "groq" })).not.toBe(cacheKey(base));
  });

  it("changes with the resolved model", () => {
    expect(cacheKey({ ...base, model: "gpt-4o" })).not.toBe(cacheKey(base));
  });

  it("changes with the tenant, so two tenants never share an entry", () => {
    expect(cacheKey({ ...base, tenant: "key-b" })).not.toBe(cacheKey(base));
  });

  it("ignores key order at every depth", () => {
    const reordered = {
      request: {
        messages: [{ content: "What is the capital of France?", role: "user" }],
        response_format: { json_schema: { schema: { b: 1, a: 2 }, name: "x" }, type: "json_schema" },
        model: "gpt-4o-mini",
      },
      model: "gpt-4o-mini",
      provider: "openai",
      tenant: "key-a",
    };
    const ordered = {
      ...base,
      request: {
        ...base.request,
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { a: 2, b: 1 } } },
      },
    };
    expect(cacheKey(reordered)).toBe(cacheKey(ordered));
  });

  it("shares one entry between streamed and plain requests", () => {
    const streamed = cacheKey({
      ...base,
      request: { ...base.request, stream: true, stream_options: { include_usage: true } },
    });
    expect(streamed).toBe(cacheKey(base));
  });

  it("treats an undefined member as absent but null as a value", () => {
    expect(cacheKey({ ...base, request: { ...base.request, temperature: undefined } })).toBe(cacheKey(base));
    expect(cacheKey({ ...base, request: { ...base.request, temperature: null } })).not.toBe(cacheKey(base));
  });
});
