import { expect, it } from "vitest";
import type { SemanticEntry, SemanticStore } from "../../../../app/cache/semantic";
import { semanticScopeKey } from "../../../../app/cache/semantic";
import { parseChatRequest } from "../../../../app/chat/schema";
import { cosine, fakeEmbedding, normalize } from "../../../fakes/_embedding-vectors";

/** Vector width of the contract tests. */
export const DIMS = 256;

/** A clock the tests move by hand. */
export interface TestClock {
  now: number;
}

const request = (question: string, extra: Record<string, unknown> = {}) =>
  parseChatRequest({
    model: "openai/gpt-4o-mini",
    messages: [{ role: "user", content: question }],
    temperature: 0,
    max_tokens: 100,
    ...extra,
  });

const scope = (tenant: string, extra: Record<string, unknown> = {}) =>
  semanticScopeKey({
    tenant,
    provider: "openai",
    model: "gpt-4o-mini",
    embeddingModel: "openai/text-embedding-3-small",
    request: request("ignored: messages are not in the scope", extra),
  });

const entry = (text: string): SemanticEntry => ({
  completion: {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  },
  costUsd: 0.000123,
  text: "user: What is the capital of France?",
});

const embed = (text: string) => fakeEmbedding(text, DIMS);

/**
 * The behaviour every semantic store shares: a paraphrase hits, an unrelated
 * question misses, another tenant or a changed parameter never hits, expired
 * entries are gone. `store()` returns a store with no entries of these scopes.
 */
export function semanticStoreContract(store: () => SemanticStore, clock: TestClock): void {
  it("answers a paraphrase (same content words) with the stored entry and its similarity", async () => {
    const key = scope("tenant-a");
    await store().put(key, embed("What is the capital of France?"), entry("Paris."), 3600);
    const hit = await store().lookup(key, embed("Tell me the capital of France, please"), 0.95);
    expect(hit?.entry).toEqual(entry("Paris."));
    expect(hit?.similarity).toBeGreaterThan(0.999);
  });

  it("answers a close but different vector with the cosine similarity of the two", async () => {
    const key = scope("tenant-close");
    const stored = embed("How tall is Mount Everest?");
    await store().put(key, stored, entry("8849 m."), 3600);
    const near = normalize(stored.map((x, i) => x + (i % 7 === 0 ? 0.03 : -0.01)));
    const expected = cosine(stored, near);
    expect(expected).toBeGreaterThan(0.95);
    expect(expected).toBeLessThan(0.999);
    const hit = await store().lookup(key, near, 0.95);
    expect(hit?.entry.completion.choices[0]?.message.content).toBe("8849 m.");
    expect(hit?.similarity).toBeCloseTo(expected, 4);
    expect(await store().lookup(key, near, expected + 0.005)).toBeUndefined();
  });

  it("misses an unrelated question", async () => {
    const key = scope("tenant-b");
    await store().put(key, embed("What is the capital of France?"), entry("Paris."), 3600);
    expect(await store().lookup(key, embed("How do I bake sourdough bread?"), 0.95)).toBeUndefined();
  });

  it("never answers another tenant, even with the identical vector", async () => {
    await store().put(scope("tenant-c"), embed("What is the capital of Spain?"), entry("Madrid."), 3600);
    expect(
      await store().lookup(scope("tenant-d"), embed("What is the capital of Spain?"), 0.5),
    ).toBeUndefined();
    expect(
      (await store().lookup(scope("tenant-c"), embed("What is the capital of Spain?"), 0.5))?.entry,
    ).toEqual(entry("Madrid."));
  });

  it("never answers a request whose parameters differ, and ignores only the messages", async () => {
    await store().put(scope("tenant-e"), embed("Name a prime number"), entry("7"), 3600);
    for (const changed of [
      { temperature: 0.2 },
      { max_tokens: 101 },
      { seed: 1 },
      { response_format: { type: "json_object" } },
    ]) {
      expect(
        await store().lookup(scope("tenant-e", changed), embed("Name a prime number"), 0.5),
      ).toBeUndefined();
    }
    expect(scope("tenant-e", { stream: true })).toBe(scope("tenant-e"));
    expect(
      (await store().lookup(scope("tenant-e", { stream: true }), embed("Name a prime number"), 0.95))?.entry,
    ).toEqual(entry("7"));
  });

  it("stops answering once an entry expires, and purges it", async () => {
    const key = scope("tenant-f");
    await store().put(key, embed("Who wrote Hamlet?"), entry("Shakespeare."), 60);
    clock.now += 59_000;
    expect((await store().lookup(key, embed("Who wrote Hamlet?"), 0.95))?.entry).toEqual(
      entry("Shakespeare."),
    );
    clock.now += 2_000;
    expect(await store().lookup(key, embed("Who wrote Hamlet?"), 0.95)).toBeUndefined();
    expect(await store().purgeExpired()).toBeGreaterThanOrEqual(1);
    clock.now -= 61_000;
    expect(await store().lookup(key, embed("Who wrote Hamlet?"), 0.95)).toBeUndefined();
  });
}
