import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const messages = [{ role: "user" as const, content: "Name a colour" }];

describe("POST /v1/chat/completions with n > 1", () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("passes n through to OpenAI in one call", async () => {
    h.fakes.openai.reset();
    await h.client.chat.completions.create({ model: "gpt-4o", messages, n: 3 });
    const sent = h.fakes.openai.chatRequests();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ n: 3 });
  });

  it("fans out to one call per choice where the vendor has no n, merged in order with usage summed", async () => {
    h.fakes.claude.reset();
    h.fakes.claude.script(
      { kind: "answer", text: "red", usage: { input: 10, output: 1 } },
      { kind: "answer", text: "green", usage: { input: 10, output: 2 } },
      { kind: "answer", text: "blue", usage: { input: 10, output: 3 } },
    );
    const completion = await h.client.chat.completions.create({
      model: "claude/claude-3-5-haiku-latest",
      messages,
      n: 3,
    });
    const sent = h.fakes.claude.chatRequests();
    expect(sent).toHaveLength(3);
    for (const request of sent) expect(request.body).not.toHaveProperty("n");
    expect(completion.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    expect(completion.choices.map((choice) => choice.message.content).sort()).toEqual([
      "blue",
      "green",
      "red",
    ]);
    expect(completion.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 6, total_tokens: 36 });
  });

  it("streams every fanned-out choice with its index, then the summed usage", async () => {
    h.fakes.claude.reset();
    h.fakes.claude.script(
      { kind: "answer", chunks: ["cr", "imson"], usage: { input: 10, output: 2 } },
      { kind: "answer", chunks: ["te", "al"], usage: { input: 10, output: 2 } },
    );
    const stream = await h.client.chat.completions.create({
      model: "claude/claude-3-5-haiku-latest",
      messages,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const text = new Map<number, string>();
    let usage: unknown;
    for await (const chunk of stream) {
      for (const choice of chunk.choices)
        text.set(choice.index, (text.get(choice.index) ?? "") + (choice.delta.content ?? ""));
      if (chunk.usage) usage = chunk.usage;
    }
    expect([...text.keys()].sort()).toEqual([0, 1]);
    expect([...text.values()].sort()).toEqual(["crimson", "teal"]);
    expect(usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 });
    expect(h.fakes.claude.chatRequests()).toHaveLength(2);
  });
});
