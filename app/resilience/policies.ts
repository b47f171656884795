import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ConstantBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  TimeoutStrategy,
  timeout,
} from "cockatiel";
import { PROVIDER_NAMES, type ProviderName } from "../config/defaults";
import { ProviderError, RateLimitError, type UpstreamFailureKind } from "../errors";
import { BACKOFF_MAX_MS } from "../shutdown-budget";
import type { ResilienceClock } from "./clock";

/** A circuit state in the words of events and health. */
export type CircuitStateName = "closed" | "half-open" | "open";

/** Tuning of retry, timeout and backoff for one call. */
export interface RetryOptions {
  /** Per-attempt deadline. */
  readonly timeoutMs: number;
  /** Retries after the first attempt, per target. */
  readonly maxRetries: number;
  /** First backoff delay before jitter. @default 250 */
  readonly backoffBaseMs?: number;
  /** Largest backoff delay. @default 8000 */
  readonly backoffMaxMs?: number;
  /** A `Retry-After` longer than this is not waited out: the router fails over instead. @default 30000 */
  readonly retryAfterCapMs?: number;
}

/** Failures another attempt on the same target may get past: they are retried. */
const TRANSIENT: ReadonlySet<UpstreamFailureKind> = new Set(["upstream", "timeout", "rate_limit"]);

/**
 * Failures that say the provider is unwell: they count towards its breaker. A
 * 429 is not one: it is one key's quota (the key pool rotates and the retry
 * backs off), and a rate-limit storm on one key must not open the provider's
 * circuit for every caller (issue 14 finding 7; counted apart in
 * `ai_gateway_upstream_rate_limited_total`).
 */
const UNWELL: ReadonlySet<UpstreamFailureKind> = new Set(["upstream", "timeout"]);

/** True when the error counts against the provider's breaker (never a 429). */
export function countsAgainstBreaker(error: unknown): boolean {
  return error instanceof ProviderError && UNWELL.has(error.kind);
}

/**
 * The delay before retry `attempt` (from 1): the provider's `Retry-After` when
 * it sent one, else exponential backoff with full jitter in [d/2, d].
 */
export function retryDelayMs(
  error: unknown,
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  if (error instanceof RateLimitError && error.retryAfterSeconds !== undefined) {
    return Math.round(error.retryAfterSeconds * 1000);
  }
  const base = options.backoffBaseMs ?? 250;
  const ceiling = Math.min(options.backoffMaxMs ?? BACKOFF_MAX_MS, base * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** True when another attempt on the same target may succeed. */
export function isRetryable(error: unknown, options: RetryOptions): boolean {
  if (!(error instanceof ProviderError) || !TRANSIENT.has(error.kind)) return false;
  if (error instanceof RateLimitError && error.retryAfterSeconds !== undefined) {
    return error.retryAfterSeconds * 1000 <= (options.retryAfterCapMs ?? 30_000);
  }
  return true;
}

/** Breaker settings. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  /** How long it stays open before one probe is let through. */
  readonly cooldownMs: number;
}

/**
 * One cockatiel circuit breaker per provider (consecutive-failure breaker,
 * half-open after the cool-down with a single probe). State changes are
 * reported to `onChange`, which the gateway turns into `onCircuitChange`.
 */
export class ProviderBreakers {
  private readonly breakers = new Map<ProviderName, CircuitBreakerPolicy>();

  constructor(options: BreakerOptions, onChange: (provider: ProviderName, state: CircuitStateName) => void) {
    for (const provider of PROVIDER_NAMES) {
      const breaker = circuitBreaker(handleWhen(countsAgainstBreaker), {
        halfOpenAfter: options.cooldownMs,
        breaker: new ConsecutiveBreaker(options.threshold),
      });
      breaker.onStateChange((state) => onChange(provider, stateName(state)));
      this.breakers.set(provider, breaker);
    }
  }

  /** The provider's breaker. */
  get(provider: ProviderName): CircuitBreakerPolicy {
    return this.breakers.get(provider)!;
  }

  /**
   * Counts a failure that happened outside `execute` (a stream dying after its
   * first chunk, when the attempt had already succeeded). An open circuit
   * ignores it, as it would a call it refused.
   */
  async recordFailure(provider: ProviderName, error: unknown): Promise<void> {
    await this.get(provider)
      .execute(() => Promise.reject(error))
      .catch(() => undefined);
  }

  /** Counts a success that happened outside `execute` (a stream that ended cleanly). */
  async recordSuccess(provider: ProviderName): Promise<void> {
    await this.get(provider)
      .execute(() => undefined)
      .catch(() => undefined);
  }

  /** The provider's circuit state. */
  state(provider: ProviderName): CircuitStateName {
    return stateName(this.get(provider).state);
  }
}

function stateName(state: CircuitState): CircuitStateName {
  switch (state) {
    case CircuitState.Closed:
      return "closed";
    case CircuitState.HalfOpen:
      return "half-open";
    default:
      return "open";
  }
}

/** True for the error a breaker throws instead of calling a provider whose circuit is open. */
export function isCircuitOpen(error: unknown): error is BrokenCircuitError {
  return error instanceof BrokenCircuitError;
}

/** Options of {@link executeResilient}. */
export interface ExecuteOptions<T> {
  readonly breaker: CircuitBreakerPolicy;
  readonly retry: RetryOptions;
  readonly clock: ResilienceClock;
  /** The caller's signal (client disconnect); aborts waits and attempts. */
  readonly signal: AbortSignal;
  readonly random?: () => number;
  /** Called before each retry's delay, with the failed attempt (from 1). */
  readonly onRetry?: (info: { attempt: number; error: unknown; delayMs: number }) => void;
  /**
   * One attempt. `signal` aborts at the per-attempt deadline (reason: `timeoutReason()`) or when the caller's
   * signal aborts (its reason).
   */
  readonly attempt: (info: { attempt: number; signal: AbortSignal }) => Promise<T>;
  /** The error an attempt that ran past its deadline is aborted with. */
  readonly timeoutReason: () => unknown;
  /**
   * The breaker does not count the attempt's success: the caller reports the
   * outcome later with {@link ProviderBreakers.recordSuccess} or
   * `recordFailure` (a stream is only a success once it has ended). @default false
   */
  readonly deferSuccess?: boolean;
}

// Carries a deferred attempt's value past the breaker, which neither counts
// nor retries an error it does not handle (a half-open probe closes on it).
class Unsettled {
  constructor(readonly value: unknown) {}
}

/**
 * Runs `attempt` through retry → circuit breaker → per-attempt timeout, all
 * cockatiel policies. Retry waits (backoff with jitter, or `Retry-After`) run
 * on the injected clock so they can be aborted by the client and controlled
 * by tests; auth and bad-request errors are never retried.
 */
export async function executeResilient<T>(options: ExecuteOptions<T>): Promise<T> {
  const retryPolicy = retry(
    handleWhen((error) => isRetryable(error, options.retry)),
    // The wait itself happens at the start of the next attempt, on the injected clock.
    { maxAttempts: options.retry.maxRetries, backoff: new ConstantBackoff(0) },
  );
  const timeoutPolicy = timeout(options.retry.timeoutMs, {
    strategy: TimeoutStrategy.Cooperative,
    abortOnReturn: false,
  });
  let pendingDelay = 0;
  retryPolicy.onRetry((event) => {
    const error = "error" in event ? event.error : undefined;
    pendingDelay = retryDelayMs(error, event.attempt, options.retry, options.random);
    options.onRetry?.({ attempt: event.attempt, error, delayMs: pendingDelay });
  });
  try {
    return await retryPolicy.execute(async ({ attempt, signal }) => {
      if (pendingDelay > 0) {
        const delay = pendingDelay;
        pendingDelay = 0;
        await options.clock.sleep(delay, signal);
      }
      return options.breaker.execute(
        () =>
          timeoutPolicy.execute(async ({ signal: deadline }) => {
            const controller = new AbortController();
            const onAbort = () => {
              controller.abort(options.signal.aborted ? options.signal.reason : options.timeoutReason());
            };
            if (deadline.aborted) onAbort();
            else deadline.addEventListener("abort", onAbort, { once: true });
            // The caller's signal stays linked after the attempt returns: a stream
            // keeps reading its body, and a client disconnect must still abort it.
            options.signal.addEventListener("abort", onAbort, { once: true });
            let value: T;
            try {
              value = await options.attempt({ attempt: attempt + 1, signal: controller.signal });
            } catch (error) {
              // A failed attempt needs no link: many retries must not pile listeners on one signal.
              options.signal.removeEventListener("abort", onAbort);
              throw error;
            } finally {
              deadline.removeEventListener("abort", onAbort);
            }
            if (options.deferSuccess) throw new Unsettled(value);
            return value;
          }, signal),
        signal,
      );
    }, options.signal);
  } catch (error) {
    if (error instanceof Unsettled) return error.value as T;
    throw error;
  }
}
