import { createHash, randomUUID } from "node:crypto";
import { ChromaClient, type Collection } from "chromadb";
import type { SemanticEntry, SemanticHit, SemanticStore } from "./types";

/** Options of {@link openChromaStore}. */
export interface ChromaStoreOptions {
  /** Chroma's base URL (`http://chroma:8000`). */
  readonly url: string;
  /** `<provider>/<model>` of the embedding model; it names the collection. */
  readonly embeddingModel: string;
  /** Extra headers (Chroma's token: `x-chroma-token`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Epoch ms; expiry is decided with it, so tests control time. @default Date.now */
  readonly now?: () => number;
}

/**
 * The collection of one embedding model: vectors of two models are never in
 * one collection. Chroma names are 3-512 of `[A-Za-z0-9._-]`, starting and
 * ending alphanumeric; a hash keeps two models that sanitize alike apart.
 */
export function chromaCollectionName(embeddingModel: string): string {
  const readable = embeddingModel
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .slice(0, 80);
  const hash = createHash("sha256").update(embeddingModel).digest("hex").slice(0, 12);
  return `semantic-cache-${readable ? `${readable}-` : ""}${hash}`;
}

/** Opens (creating if needed) the cosine collection of the embedding model. */
export async function openChromaStore(options: ChromaStoreOptions): Promise<ChromaStore> {
  const url = new URL(options.url);
  const ssl = url.protocol === "https:";
  const client = new ChromaClient({
    host: url.hostname,
    port: url.port ? Number(url.port) : ssl ? 443 : 80,
    ssl,
    headers: { ...options.headers },
  });
  const collection = await client.getOrCreateCollection({
    name: chromaCollectionName(options.embeddingModel),
    configuration: { hnsw: { space: "cosine" } },
    metadata: { embedding_model: options.embeddingModel, purpose: "ai-gateway semantic cache" },
    // The gateway embeds; Chroma must never embed documents itself.
    embeddingFunction: null,
  });
  return new ChromaStore(collection, options.now ?? Date.now);
}

/** The Chroma semantic store: one record per entry, scope and expiry in its metadata. */
export class ChromaStore implements SemanticStore {
  readonly kind = "chroma" as const;

  constructor(
    private readonly collection: Collection,
    private readonly now: () => number,
  ) {}

  /** The collection's name. */
  get name(): string {
    return this.collection.name;
  }

  async lookup(
    scopeKey: string,
    vector: ArrayLike<number>,
    threshold: number,
  ): Promise<SemanticHit | undefined> {
    const result = await this.collection.query({
      queryEmbeddings: [Array.from(vector)],
      nResults: 1,
      where: { $and: [{ scope_key: { $eq: scopeKey } }, { expires_at: { $gt: this.now() } }] },
      include: ["documents", "distances"],
    });
    const document = result.documents[0]?.[0];
    const distance = result.distances[0]?.[0];
    if (typeof document !== "string" || typeof distance !== "number") return undefined;
    // Chroma's cosine space answers distance = 1 - similarity.
    const similarity = Math.min(1, Math.max(0, 1 - distance));
    if (!(similarity >= threshold)) return undefined;
    return { entry: JSON.parse(document) as SemanticEntry, similarity };
  }

  async put(
    scopeKey: string,
    vector: ArrayLike<number>,
    entry: SemanticEntry,
    ttlSeconds: number,
  ): Promise<void> {
    const now = this.now();
    await this.collection.add({
      ids: [randomUUID()],
      embeddings: [Array.from(vector)],
      documents: [JSON.stringify(entry)],
      metadatas: [{ scope_key: scopeKey, created_at: now, expires_at: now + ttlSeconds * 1000 }],
    });
  }

  async purgeExpired(): Promise<number> {
    const where = { expires_at: { $lte: this.now() } };
    const expired = await this.collection.get({ where, include: [] });
    if (expired.ids.length > 0) await this.collection.delete({ ids: expired.ids });
    return expired.ids.length;
  }

  async close(): Promise<void> {
    // The chromadb client holds no connection of its own (it uses fetch).
  }
}
