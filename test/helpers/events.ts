import type { ResponseEvent } from "../../app/observability/events";

let counter = 0;

/** A served-request event with sensible defaults. */
export function responseEvent(overrides: Partial<ResponseEvent> = {}): ResponseEvent {
  counter++;
  return {
    requestId: `req-${process.pid}-${Date.now()}-${counter}`,
    tenant: "tenant-a",
    provider: "openai",
    model: "gpt-4o-mini",
    inputTokens: 1000,
    outputTokens: 500,
    durationMs: 120,
    upstreamMs: 100,
    attempts: 1,
    fallbackUsed: false,
    cacheHit: false,
    stream: false,
    status: 200,
    ...overrides,
  };
}
