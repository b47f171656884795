import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChromaStore, chromaCollectionName, openChromaStore } from "../../../../app/cache/semantic";
import { type ChromaServer, startChroma } from "../../../helpers/chroma";
import { semanticStoreContract, type TestClock } from "./_contract";

describe("Chroma semantic store on a real Chroma server", () => {
  const clock: TestClock = { now: Date.parse("2026-01-01T00:00:00Z") };
  let chroma: ChromaServer;
  let store: ChromaStore;
  beforeAll(async () => {
    chroma = await startChroma();
    store = await openChromaStore({
      url: chroma.url,
      embeddingModel: "openai/text-embedding-3-small",
      now: () => clock.now,
    });
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await chroma?.stop();
  });

  semanticStoreContract(() => store, clock);

  it("keeps one collection per embedding model", async () => {
    expect(store.name).toBe(chromaCollectionName("openai/text-embedding-3-small"));
    expect(chromaCollectionName("openai/text-embedding-3-small")).toMatch(
      /^semantic-cache-openai-text-embedding-3-small-[0-9a-f]{12}$/,
    );
    expect(chromaCollectionName("ollama/nomic-embed-text")).not.toBe(store.name);
    const other = await openChromaStore({ url: chroma.url, embeddingModel: "ollama/nomic-embed-text" });
    expect(other.name).toBe(chromaCollectionName("ollama/nomic-embed-text"));
    expect(await other.lookup("any", new Array(256).fill(0.1), 0)).toBeUndefined();
  });
});
