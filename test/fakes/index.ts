/**
 * Fake LLM vendors for tests and benchmarks: small HTTP servers on 127.0.0.1
 * that speak each vendor's real wire format (paths, auth headers, JSON and SSE
 * bodies, error bodies) and can be scripted per request to answer, stream,
 * delay, rate-limit, fail, send garbage, reset, hang or die mid-stream.
 *
 * ```ts
 * const openai = await startOpenAIFake();
 * openai.script({ kind: "rate_limit", retryAfter: "1" }, { kind: "answer", text: "hi" });
 * // OPENAI_BASE_URL = `${openai.origin}/v1`; later: openai.requests, openai.close()
 * ```
 */
export { type FakeOptions, type FakeStep, FakeUpstream, type RecordedRequest } from "./_fake-server";
export { anthropicFormat, anthropicToolUse, startAnthropicFake } from "./anthropic-fake";
export { geminiFormat, startGeminiFake } from "./gemini-fake";
export { ollamaFormat, startOllamaFake } from "./ollama-fake";
export { openAIFormat, startOpenAIFake } from "./openai-fake";
