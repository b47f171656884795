export { ChromaStore, type ChromaStoreOptions, chromaCollectionName, openChromaStore } from "./chroma-store";
export {
  hnswIndexSql,
  MissingVectorExtensionError,
  openPgvectorStore,
  PgvectorStore,
  type PgvectorStoreOptions,
  SEMANTIC_MIGRATIONS,
} from "./pgvector-store";
export {
  conversationText,
  type SemanticScopeInput,
  semanticIneligibility,
  semanticScopeKey,
} from "./scope-key";
export type { SemanticEntry, SemanticHit, SemanticStore } from "./types";
