import type { ProviderName } from "../config/defaults";
import type { UpstreamFailureKind } from "../errors";

/** A chat request entered the gateway. */
export interface RequestEvent {
  readonly requestId: string;
  /** The client's gateway key id, or `anonymous` when the gateway is open. */
  readonly tenant: string;
  /** The model name the client asked for. */
  readonly model: string;
  readonly stream: boolean;
  /** Epoch milliseconds. */
  readonly startedAt: number;
}

/** A chat request was answered, by an upstream or from the cache. */
export interface ResponseEvent {
  readonly requestId: string;
  readonly tenant: string;
  readonly provider: ProviderName;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Wall time from arrival to the last byte. */
  readonly durationMs: number;
  /** Time spent waiting on upstreams (all attempts); 0 for cache hits. */
  readonly upstreamMs: number;
  readonly attempts: number;
  readonly fallbackUsed: boolean;
  readonly cacheHit: boolean;
  readonly stream: boolean;
  readonly status: number;
  /**
   * True when the client left before the provider reported usage and the
   * tokens are the gateway's tokenizer estimate (the ledger row says so).
   */
  readonly estimated?: boolean;
  /** What was served; absent means a chat completion (`POST /v1/embeddings` sends `embedding`). */
  readonly kind?: "chat" | "embedding";
}

/** A chat request failed. */
export interface ErrorEvent {
  readonly requestId: string;
  readonly tenant: string;
  readonly provider?: ProviderName;
  readonly model?: string;
  readonly status: number;
  readonly type: string;
  readonly message: string;
  readonly attempts: number;
  readonly durationMs: number;
}

/**
 * Every target failed and, with `AI_DEGRADED_REPLY=true`, the client got the
 * apology as a 200 with `x-ai-degraded: true` instead of a 502/504. Not an
 * `onResponse`: nothing was served, priced or charged.
 */
export interface DegradedEvent {
  readonly requestId: string;
  readonly tenant: string;
  /** The first target, which did not answer. */
  readonly provider: ProviderName;
  readonly model: string;
  readonly stream: boolean;
  readonly attempts: number;
  /** Wall time from arrival to the decision to apologize. */
  readonly durationMs: number;
}

/** An upstream attempt failed and will be retried. */
export interface RetryEvent {
  readonly requestId: string;
  readonly provider: ProviderName;
  readonly model: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly reason: UpstreamFailureKind;
  readonly delayMs: number;
}

/** The router moved on to the next target. */
export interface FallbackEvent {
  readonly requestId: string;
  readonly from: ProviderName;
  readonly to: ProviderName;
  readonly reason: UpstreamFailureKind | "circuit_open";
}

/** A provider's circuit breaker changed state. */
export interface CircuitChangeEvent {
  readonly provider: ProviderName;
  readonly state: "closed" | "half-open" | "open";
}

/** The ledger priced a served request. */
export interface CostEvent {
  readonly requestId: string;
  readonly tenant: string;
  readonly provider: ProviderName;
  readonly model: string;
  /** USD as a decimal string: exact, never a float sum. */
  readonly costUsd: string;
  readonly cacheHit: boolean;
  /** True when the model had no price and was priced 0. */
  readonly unpriced: boolean;
}

/** A provider's key pool moved to its next key after the key in use was refused (401/403 or 429). */
export interface KeyRotationEvent {
  readonly requestId: string;
  readonly provider: ProviderName;
  /** Why the key was given up on. */
  readonly reason: "authentication" | "rate_limit";
  /** Position (1-based) of the key now in use and the pool size; never the key itself. */
  readonly key: number;
  readonly of: number;
}

/**
 * One upstream attempt failed: every failed attempt, whether it is then
 * retried, failed over, or ends the request, and a stream that dies after its
 * first chunk. Not emitted for targets skipped by an open circuit (no attempt)
 * nor when the client hung up.
 */
export interface UpstreamErrorEvent {
  readonly requestId: string;
  readonly provider: ProviderName;
  readonly model: string;
  readonly type: UpstreamFailureKind;
  /** The upstream HTTP status, when there was one. */
  readonly status?: number;
}

/** Every gateway event, by hook name. */
export interface GatewayEventMap {
  onRequest: RequestEvent;
  onResponse: ResponseEvent;
  onError: ErrorEvent;
  onDegraded: DegradedEvent;
  onRetry: RetryEvent;
  onFallback: FallbackEvent;
  onCircuitChange: CircuitChangeEvent;
  onCost: CostEvent;
  onKeyRotation: KeyRotationEvent;
  onUpstreamError: UpstreamErrorEvent;
}

/** A subscriber to one hook. */
export type GatewayListener<K extends keyof GatewayEventMap> = (event: GatewayEventMap[K]) => void;

/**
 * Typed hooks that observability code and users subscribe to. Listeners run
 * synchronously on the request path, so they must be cheap; a listener that
 * throws is reported to `onListenerError` and never breaks a request.
 */
export class GatewayEvents {
  private readonly listeners: { [K in keyof GatewayEventMap]?: GatewayListener<K>[] } = {};

  constructor(private readonly onListenerError: (error: unknown, hook: string) => void = () => {}) {}

  /** Subscribes to a hook; returns the function that unsubscribes. */
  on<K extends keyof GatewayEventMap>(hook: K, listener: GatewayListener<K>): () => void {
    const list = (this.listeners[hook] ?? []) as GatewayListener<K>[];
    this.listeners[hook] = list as (typeof this.listeners)[K];
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index !== -1) list.splice(index, 1);
    };
  }

  /** Calls every listener of a hook with the event. */
  emit<K extends keyof GatewayEventMap>(hook: K, event: GatewayEventMap[K]): void {
    const list = this.listeners[hook] as GatewayListener<K>[] | undefined;
    if (!list) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error, hook);
      }
    }
  }
}
