import express from "express";
import OpenAI from "openai";
import type { ChatCompletionChunk as SdkChatCompletionChunk } from "openai/resources/chat/completions";
import { afterEach, describe, expect, it } from "vitest";
import { accumulateChunks, completionToChunks, completionToSse } from "../../../app/cache/sse";
import type { ChatCompletion, ChatCompletionChunk } from "../../../app/chat/types";
import { completion } from "../../helpers/completions";
import { type Listening, listen } from "../../helpers/http";

const withTools: ChatCompletion = completion("", {
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "time", arguments: '{"tz":"CET"}' } },
        ],
      },
      finish_reason: "tool_calls",
      logprobs: null,
    },
  ],
});

describe("SSE replay of cached completions", () => {
  let server: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("round-trips a completion through chunks, content split across chunks", () => {
    const original = completion("x".repeat(1000));
    const chunks = completionToChunks(original, { includeUsage: true, chunkCharacters: 100 });
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content === "x".repeat(100))).toHaveLength(10);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: original.usage });
    expect(accumulateChunks(chunks)).toEqual(original);
  });

  it("round-trips tool calls and several choices", () => {
    expect(accumulateChunks(completionToChunks(withTools))).toEqual({ ...withTools, usage: undefined });
    const two = completion("a", {
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "a", refusal: null },
          finish_reason: "stop",
          logprobs: null,
        },
        {
          index: 1,
          message: { role: "assistant", content: "b", refusal: null },
          finish_reason: "length",
          logprobs: null,
        },
      ],
    });
    expect(accumulateChunks(completionToChunks(two, { includeUsage: true }))).toEqual(two);
  });

  it("accumulates a vendor stream whose tool call arguments arrive in pieces", () => {
    const base = { id: "c", object: "chat.completion.chunk" as const, created: 1, model: "m" };
    const pieces: ChatCompletionChunk[] = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: "call_9", type: "function", function: { name: "f", arguments: '{"a"' } },
              ],
            },
            finish_reason: null,
          },
        ],
      },
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] },
            finish_reason: null,
          },
        ],
      },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
    ];
    const folded = accumulateChunks(pieces);
    expect(folded.choices[0]?.message.tool_calls).toEqual([
      { id: "call_9", type: "function", function: { name: "f", arguments: '{"a":1}' } },
    ]);
    expect(folded.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it("is a well-formed OpenAI stream the official SDK reads to the end", async () => {
    const cached = completion("The capital of France is Paris.");
    const app = express();
    app.post("/v1/chat/completions", (_req, res) => {
      res.setHeader("content-type", "text/event-stream");
      res.end(completionToSse(cached, { includeUsage: true, chunkCharacters: 8 }));
    });
    server = await listen(app);
    const client = new OpenAI({ apiKey: "test", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "capital of France?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const received: SdkChatCompletionChunk[] = [];
    for await (const chunk of stream) received.push(chunk);
    expect(received.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(
      "The capital of France is Paris.",
    );
    expect(received.at(-1)?.usage).toEqual(cached.usage);
    expect(completionToSse(cached).endsWith("data: [DONE]\n\n")).toBe(true);
  });
});
