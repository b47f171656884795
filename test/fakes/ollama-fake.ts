import { type FakeOptions, FakeUpstream, type VendorFormat } from "./_fake-server";
import { openAIEmbeddings, openAIFormat } from "./openai-fake";

// Ollama's OpenAI-compatible API under /v1: chat as OpenAI's, and
// /v1/embeddings answering floats (it is not relied on for base64), with
// usage, and Ollama's own 404 for a model that has not been pulled.

const OLLAMA_EMBEDDING_MODELS: Record<string, { width: number; shortens: boolean }> = {
  "nomic-embed-text": { width: 768, shortens: true },
  "mxbai-embed-large": { width: 1024, shortens: true },
  "all-minilm": { width: 384, shortens: true },
};

/** Ollama's OpenAI-compatible wire format (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`). */
export const ollamaFormat: VendorFormat = {
  ...openAIFormat,
  name: "ollama",
  errorBody(status, message) {
    return {
      error: {
        message,
        type: status >= 500 ? "api_error" : "invalid_request_error",
        param: null,
        code: null,
      },
    };
  },
  embeddings({ model, body }) {
    const bare = model.replace(/:latest$/, "");
    if (!OLLAMA_EMBEDDING_MODELS[bare]) {
      return {
        status: 404,
        body: ollamaFormat.errorBody(404, `model "${model}" not found, try pulling it first`),
      };
    }
    return openAIEmbeddings(
      bare,
      body,
      (status, message) => ollamaFormat.errorBody(status, message),
      OLLAMA_EMBEDDING_MODELS,
      {
        base64: false,
      },
    );
  },
};

/** Starts a fake Ollama; point `OLLAMA_BASE_URL` at `fake.origin`. */
export function startOllamaFake(options: FakeOptions = {}): Promise<FakeUpstream> {
  return new FakeUpstream(ollamaFormat, options).start();
}
