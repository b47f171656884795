import { OpenAICompatibleAdapter } from "./_openai-compatible";

/** Ollama's OpenAI-compatible endpoint, `/v1/chat/completions` (`OLLAMA_BASE_URL`, keyless). */
export function createOllamaAdapter(options: {
  baseUrl: string;
  streamIdleTimeoutSeconds?: number;
}): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter({ ...options, name: "ollama", apiPrefix: "/v1" });
}
