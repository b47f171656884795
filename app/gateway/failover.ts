import type { ChatRequest } from "../chat/schema";
import type { TargetSpec } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import { type BadRequestError, HttpError, ProviderError } from "../errors";
import type { ProviderAdapter } from "../providers/types";
import { isCircuitOpen } from "../resilience/policies";
import { setupHint } from "./setup-hint";
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
  readonly request: ChatRequest;
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

export function clientClosed(): HttpError {
  return new HttpError(499, {
    message: "Client closed the request",
    type: "invalid_request_error",
    code: "client_closed_request",
  });
}

export function badRequest(error: BadRequestError): HttpError {
  if (error.status === 404) {
    return new HttpError(404, { message: error.message, type: "not_found_error", code: "model_not_found" });
  }
  return new HttpError(400, {
    message: error.message,
    type: "invalid_request_error",
    code: "upstream_bad_request",
  });
}

export function allFailed(failures: readonly TargetFailure[], attempts: number): HttpError {
  const last = failures.at(-1);
  const timedOut = last?.kind === "timeout";
  const tried = failures.map((f) => `${f.provider}/${f.model}: ${f.kind} (${f.message})`).join("; ");
  return new HttpError(timedOut ? 504 : 502, {
    message: `All providers failed: ${tried}${setupHint(failures)}`,
    type: timedOut ? "timeout_error" : "upstream_error",
    code: timedOut ? "upstream_timeout" : "all_providers_failed",
    headers: { "x-ai-attempts": String(attempts) },
  });
}
