import type { ChatRequest } from "../chat/schema";
import type { TargetSpec } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import { ProviderError } from "../errors";
import type { ProviderAdapter } from "../providers/types";
import { isCircuitOpen } from "../resilience/policies";
import type { TargetFailure } from "./types";

/** What one target answered, and what it took. */
export interface Served<T> {
  readonly value: T;
  readonly target: TargetSpec;
  readonly attempts: number;
  readonly upstreamMs: number;
  readonly fallbackUsed: boolean;
  readonly failures: readonly TargetFailure[];
}

// What route() runs: the targets able to take the request, those skipped before it.
export interface RoutePlan {
  /** The chat request, billed by its prompt when the client leaves mid-call; absent for embeddings. */
  readonly request?: ChatRequest;
  readonly targets: readonly TargetSpec[];
  readonly skipped: readonly TargetFailure[];
  readonly config: GatewayConfig;
  /** Streams defer their breaker success until they end. */
  readonly stream: boolean;
}

/** One upstream call on a target with the key in use. */
export type Call<T> = (
  adapter: ProviderAdapter,
  target: TargetSpec,
  signal: AbortSignal,
  apiKey: string | undefined,
) => Promise<T>;

export function describeFailure(target: TargetSpec, error: unknown): TargetFailure {
  if (isCircuitOpen(error)) {
    return { ...target, kind: "circuit_open", message: `${target.provider}: circuit open` };
  }
  if (error instanceof ProviderError) {
    return { ...target, kind: error.kind, status: error.status, message: error.message };
  }
  return { ...target, kind: "upstream", message: `${target.provider}: failed` };
}
