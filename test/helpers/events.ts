import type { LedgerRow } from "../../app/ledger/row";
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

let rows = 0;

/** A ledger row as the spool and the journal hold it, with sensible defaults. */
export function ledgerRow(overrides: Partial<LedgerRow> = {}): LedgerRow {
  rows++;
  return {
    requestId: `row-${process.pid}-${Date.now()}-${rows}`,
    occurredAt: "2026-11-26T10:00:00.000Z",
    day: "2026-11-26",
    tenant: "t",
    provider: "openai",
    model: "gpt-4o-mini",
    inputTokens: 1,
    outputTokens: 2,
    costUsd: "0.000001350000",
    latencyMs: 5,
    attempts: 1,
    fallbackUsed: false,
    cacheHit: false,
    unpriced: false,
    stream: false,
    status: 200,
    ...overrides,
  };
}
