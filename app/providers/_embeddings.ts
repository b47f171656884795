import type { ProviderName } from "../config/defaults";
import { UpstreamError } from "../errors";
import type { EmbeddingItem, EmbeddingsResponse } from "./types";

// OpenAI's base64 embeddings are the raw bytes of a little-endian float32
// array (what its SDKs decode with `new Float32Array(buffer)`); written with a
// DataView so the byte order never depends on the host.

/** Encodes a vector as OpenAI does for `encoding_format: "base64"`. */
export function encodeEmbeddingBase64(vector: ArrayLike<number>): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString("base64");
}

/** Decodes an `encoding_format: "base64"` vector (little-endian float32). */
export function decodeEmbeddingBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Float32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** One embedding as floats, whichever encoding it came in. */
export function embeddingVector(item: Pick<EmbeddingItem, "embedding">): Float32Array {
  return typeof item.embedding === "string"
    ? decodeEmbeddingBase64(item.embedding)
    : Float32Array.from(item.embedding);
}

/** The vectors of a response as float32, in input order (what a vector store keeps). */
export function embeddingVectors(response: Pick<EmbeddingsResponse, "data">): Float32Array[] {
  return [...response.data].sort((a, b) => a.index - b.index).map(embeddingVector);
}

/**
 * Builds the OpenAI-shaped response from vectors in input order, encoded as
 * the client asked. Float vectors pass through as the upstream wrote them
 * (float32 round trips would only lengthen the JSON).
 */
export function toEmbeddingsResponse(options: {
  readonly model: string;
  readonly vectors: readonly (readonly number[] | Float32Array)[];
  readonly promptTokens: number;
  readonly encodingFormat: "float" | "base64" | undefined;
}): EmbeddingsResponse {
  const base64 = options.encodingFormat === "base64";
  return {
    object: "list",
    data: options.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? encodeEmbeddingBase64(vector) : Array.from(vector),
    })),
    model: options.model,
    usage: { prompt_tokens: options.promptTokens, total_tokens: options.promptTokens },
  };
}

/** Checks an upstream's vectors: one per input, each a non-empty array of finite numbers. */
export function checkVectors(
  provider: ProviderName,
  vectors: readonly unknown[] | undefined,
  expected: number,
  status: number,
): asserts vectors is readonly (readonly number[])[] {
  if (!Array.isArray(vectors) || vectors.length !== expected) {
    throw new UpstreamError(
      `${provider}: expected ${expected} embeddings, got ${Array.isArray(vectors) ? vectors.length : "none"}`,
      provider,
      status,
    );
  }
  for (const vector of vectors) {
    const ok = Array.isArray(vector) && vector.length > 0 && vector.every((x) => Number.isFinite(x));
    if (!ok) {
      throw new UpstreamError(`${provider}: an embedding is not an array of numbers`, provider, status);
    }
  }
}
