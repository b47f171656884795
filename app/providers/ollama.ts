import { OpenAICompatibleAdapter } from "./_openai-compatible";

/** Ollama's OpenAI-compatible endpoint, `/v1/chat/completions` (`OLLAMA_BASE_URL`, keyless). */
export function createOllamaAdapter(options: { baseUrl: string }): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter({ name: "ollama", baseUrl: options.baseUrl, apiPrefix: "/v1" });
}
