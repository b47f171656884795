import type { FailedTarget } from "../errors";

/**
 * What to do when the all-targets-failed error comes from an Ollama nobody
 * started (the development default, docs/design.md section 3): appended to
 * the 502's message. Empty for any other failure (issue 14 finding 12).
 */
export function setupHint(failures: readonly FailedTarget[]): string {
  const ollamaDown = failures.some(
    (failure) =>
      failure.provider === "ollama" &&
      failure.kind === "upstream" &&
      failure.message.includes("connection failed"),
  );
  if (!ollamaDown) return "";
  return ". Ollama is not reachable: start it at OLLAMA_BASE_URL (`ollama serve`), or set AI_PROVIDER and that provider's API key (e.g. AI_PROVIDER=openai with OPENAI_API_KEY)";
}
