import type { ChatRequest } from "../chat/schema";
import type { ChatCompletion, ChatCompletionChunk, Usage } from "../chat/types";
import type { ProviderName } from "../config/defaults";
import type { EmbeddingsRequest } from "../embeddings/schema";

/** What one upstream call needs besides the request. */
export interface ProviderCallOptions {
  /** The vendor's model name. */
  readonly model: string;
  /** The key to use; undefined for keyless providers (Ollama). */
  readonly apiKey: string | undefined;
  /**
   * Aborts the call. Its `reason` is what the adapter throws once aborted, so
   * the caller decides whether an abort is a timeout or a client disconnect.
   */
  readonly signal: AbortSignal;
  /** Sent upstream as `x-request-id` where the vendor accepts it. */
  readonly requestId?: string;
}

/** A completed upstream call, already in OpenAI's shape. */
export interface ProviderResponse {
  readonly completion: ChatCompletion;
  readonly usage: Usage;
}

/**
 * An open upstream stream: OpenAI chunks (never the usage-only chunk) and the
 * usage the provider reported, readable once iteration has ended.
 */
export interface ProviderStream extends AsyncIterable<ChatCompletionChunk> {
  /** Usage reported by the upstream so far (final after the iterator ends). */
  usage(): Usage | undefined;
}

/** Options of {@link ProviderAdapter.listModels}. */
export interface ListModelsOptions {
  readonly apiKey: string | undefined;
  readonly signal: AbortSignal;
}

/**
 * One vendor behind one small interface. Adapters translate requests and
 * responses both ways and raise the domain errors of app/errors.ts; they never
 * retry (the gateway owns retrying).
 */
export interface ProviderAdapter {
  readonly name: ProviderName;
  /** Sends a non-streaming request. */
  complete(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderResponse>;
  /** Opens a stream; resolves once the upstream answered with a success status. */
  stream(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderStream>;
  /**
   * Why the vendor cannot take the request's content (an audio or file part it
   * has no equivalent for), checked before any upstream call; undefined when it
   * can. Adapters that pass content through as-is omit it.
   */
  unsupportedContent?(request: ChatRequest): string | undefined;
  /** Lists the vendor's models: a cheap, unbilled call for health probes. */
  listModels(options: ListModelsOptions): Promise<string[]>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/** One vector of an embeddings response: floats, or base64 of little-endian float32 (`encoding_format`). */
export interface EmbeddingItem {
  readonly object: "embedding";
  readonly index: number;
  readonly embedding: number[] | string;
}

/** An embeddings response in OpenAI's shape, whatever the vendor (`POST /v1/embeddings`). */
export interface EmbeddingsResponse {
  readonly object: "list";
  readonly data: EmbeddingItem[];
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

/** A completed upstream embeddings call. */
export interface ProviderEmbeddings {
  readonly response: EmbeddingsResponse;
  /** Input tokens (embeddings have no output tokens). */
  readonly usage: Usage;
  /** True when the vendor reports no token count (Gemini) and `usage` is the gateway's estimate. */
  readonly estimatedUsage: boolean;
}

/**
 * A vendor that embeds text (OpenAI, Gemini, Ollama; Groq has no embedding
 * models). Like {@link ProviderAdapter} it raises the domain errors of
 * app/errors.ts and never retries.
 */
export interface EmbeddingAdapter {
  readonly name: ProviderName;
  /** Embeds the request's inputs with `options.model`; the answer honours `encoding_format`. */
  embed(request: EmbeddingsRequest, options: ProviderCallOptions): Promise<ProviderEmbeddings>;
  /** Why the vendor cannot take the request (token-id input where only text is accepted); undefined when it can. */
  unsupportedEmbeddingInput(request: EmbeddingsRequest): string | undefined;
}
