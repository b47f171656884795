import type { ChatCompletion, ChatCompletionChunk, Usage } from "../chat/types";
import type { ProviderName } from "../config/defaults";
import type { UpstreamFailureKind } from "../errors";
import type { ResponseEvent } from "../observability/events";
import type { CircuitStateName } from "../resilience/policies";

/** Who is asking, and how to stop. */
export interface ChatContext {
  readonly requestId: string;
  /** The client's gateway key id, or `anonymous`. */
  readonly tenant: string;
  /** Aborts every wait and upstream call (client disconnect). */
  readonly signal: AbortSignal;
  /** Epoch milliseconds when the request arrived. */
  readonly startedAt: number;
  /**
   * The pipeline's bill step (app/chat/pipeline.ts): called once per call the
   * provider charges for, when its usage is known (a completion, a stream's
   * end, a stream cut short by the client or the upstream). Absent: nothing
   * is billed, the hooks still report it.
   */
  readonly bill?: (event: ResponseEvent) => void;
}

/** Why one target was given up on. */
export interface TargetFailure {
  readonly provider: ProviderName;
  readonly model: string;
  readonly kind: UpstreamFailureKind | "circuit_open";
  readonly status?: number;
  /** Upstream detail with keys scrubbed. */
  readonly message: string;
}

/** What every served request reports. */
export interface ChatOutcome {
  /** Who answered (for a degraded reply: the first target, which did not). */
  readonly provider: ProviderName;
  readonly model: string;
  /** Upstream attempts made across all targets. */
  readonly attempts: number;
  readonly fallbackUsed: boolean;
  /** Time spent waiting on upstreams (for streams: until the first chunk). */
  readonly upstreamMs: number;
  /**
   * True when every target failed and the configured apology was returned:
   * nothing was served, so it must be neither cached nor billed.
   */
  readonly degraded: boolean;
  /** Targets that failed before the one that answered. */
  readonly failures: readonly TargetFailure[];
}

/** A non-streaming answer. */
export interface CompletionResult extends ChatOutcome {
  readonly response: ChatCompletion;
  readonly usage: Usage;
}

/** A stream whose first chunk is already in hand (retries and failover are over). */
export interface StreamResult extends ChatOutcome {
  /** OpenAI chunks; ends with the usage chunk when the client asked for `stream_options.include_usage`. */
  readonly chunks: AsyncIterable<ChatCompletionChunk>;
  /** The usage the provider reported; final once `chunks` has ended. */
  usage(): Usage;
}

/** Health view of one provider. */
export interface ProviderState {
  readonly provider: ProviderName;
  readonly circuit: CircuitStateName;
  /** Epoch ms of the last successful call, if any. */
  readonly lastSuccessAt?: number;
  readonly lastFailureAt?: number;
  readonly lastErrorKind?: UpstreamFailureKind;
  /** Epoch ms of the last 429 (kept apart from failures: it does not count against the breaker). */
  readonly lastRateLimitedAt?: number;
  /** The key in use as "n of m" (never the key). */
  readonly key: { key: number; of: number };
}

/** An operational alert (key failures, breakers opening); ops forwards these to ALERT_WEBHOOK_URL. */
export interface GatewayAlert {
  readonly source: "auth" | "breaker";
  readonly provider: ProviderName;
  readonly message: string;
}
