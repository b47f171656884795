import { OpenAICompatibleAdapter } from "./_openai-compatible";

/** Groq's OpenAI-compatible API (`GROQ_BASE_URL`, default https://api.groq.com/openai/v1). */
export function createGroqAdapter(options: {
  baseUrl: string;
  streamIdleTimeoutSeconds?: number;
}): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter({ ...options, name: "groq" });
}
