import type { ChatCompletion } from "../../chat/types";

/** What a semantic hit serves: the cached answer and what billing and metrics need. */
export interface SemanticEntry {
  /** The completion that answered the original request. */
  readonly completion: ChatCompletion;
  /** What the original call cost (USD), reported as saved by each hit. */
  readonly costUsd: number;
  /** The text that was embedded (for logs and debugging, never compared). */
  readonly text?: string;
}

/** A lookup that found an entry at or above the threshold. */
export interface SemanticHit {
  readonly entry: SemanticEntry;
  /** Cosine similarity of the query and the stored vector, 0..1. */
  readonly similarity: number;
}

/**
 * A vector store for the semantic cache. Entries are only ever compared
 * within one scope key (tenant, resolved provider/model, embedding model and
 * every parameter other than the messages; see {@link semanticScopeKey}).
 */
export interface SemanticStore {
  /** The store's kind, for logs and metrics. */
  readonly kind: "pgvector" | "chroma";
  /** The closest live entry of the scope whose cosine similarity is at least `threshold`, if any. */
  lookup(scopeKey: string, vector: ArrayLike<number>, threshold: number): Promise<SemanticHit | undefined>;
  /** Stores an entry that expires after `ttlSeconds`. */
  put(scopeKey: string, vector: ArrayLike<number>, entry: SemanticEntry, ttlSeconds: number): Promise<void>;
  /** Deletes expired entries; returns how many. Lookups never return expired entries either way. */
  purgeExpired(): Promise<number>;
  close(): Promise<void>;
}
