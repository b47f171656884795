import type { ProviderName } from "../config/defaults";
import type { ProviderRegistry } from "./index";
import type { EmbeddingAdapter, ProviderAdapter } from "./types";

export {
  decodeEmbeddingBase64,
  embeddingVector,
  embeddingVectors,
  encodeEmbeddingBase64,
  toEmbeddingsResponse,
} from "./_embeddings";

/**
 * Providers with an embeddings API. Groq is not one: its OpenAI-compatible
 * API lists no embedding models (its one preview embedding model was retired),
 * so `/v1/embeddings` for groq is refused before any call.
 */
export const EMBEDDING_PROVIDERS: readonly ProviderName[] = ["openai", "gemini", "ollama"];

function canEmbed(adapter: ProviderAdapter): adapter is ProviderAdapter & EmbeddingAdapter {
  return typeof (adapter as Partial<EmbeddingAdapter>).embed === "function";
}

/** The embedding side of a provider's adapter; undefined for providers without embeddings (Groq). */
export function embeddingAdapter(
  registry: ProviderRegistry,
  provider: ProviderName,
): EmbeddingAdapter | undefined {
  if (!EMBEDDING_PROVIDERS.includes(provider)) return undefined;
  const adapter = registry[provider];
  return canEmbed(adapter) ? adapter : undefined;
}
