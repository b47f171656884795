import { OpenAICompatibleAdapter } from "./_openai-compatible";

/** OpenAI's chat completions API (`OPENAI_BASE_URL`, default https://api.openai.com/v1). */
export function createOpenAIAdapter(options: {
  baseUrl: string;
  streamIdleTimeoutSeconds?: number;
}): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter({ ...options, name: "openai" });
}
