/**
 * One shutdown budget, shared by the gateway (which splits its deadline across
 * the shutdown steps) and the Kubernetes construct (which derives the pod's
 * `terminationGracePeriodSeconds` and `SHUTDOWN_TIMEOUT_SECONDS` from the same
 * settings). No imports: the construct library bundles this file.
 */

/** The pod's preStop sleep: endpoints controllers stop routing to the pod before SIGTERM. */
export const PRESTOP_SECONDS = 5;
/** The largest exponential backoff between two attempts on one target (app/resilience/policies.ts). */
export const BACKOFF_MAX_MS = 8_000;
/** Closing the job queue once running jobs ended: handing waiting jobs back and closing its connections. */
export const QUEUE_CLOSE_SECONDS = 5;
/** Writing the ledger's buffered rows to Postgres, or to the local spool when it is away. */
export const LEDGER_FLUSH_SECONDS = 5;
/** Slack between the app's deadline and the kubelet's SIGKILL. */
export const MARGIN_SECONDS = 5;

/** The settings the longest request follows from. */
export interface ShutdownSettings {
  /** `AI_TIMEOUT_SECONDS`: per-attempt deadline. */
  readonly timeoutSeconds: number;
  /** `AI_MAX_RETRIES`: retries per target (attempts = retries + 1). */
  readonly maxRetries: number;
  /** Fallback targets after the primary (`AI_FALLBACK_PROVIDERS`). */
  readonly fallbackCount: number;
}

/** The shutdown budget in seconds, step by step. */
export interface ShutdownBudget {
  /** Every target tried with every attempt timing out and the longest backoff between attempts. */
  readonly longestRequestSeconds: number;
  readonly preStopSeconds: number;
  /** In-flight HTTP requests (and running jobs, which stop being picked up at SIGTERM) finish. */
  readonly httpDrainSeconds: number;
  readonly queueCloseSeconds: number;
  readonly ledgerFlushSeconds: number;
  readonly marginSeconds: number;
  /** `SHUTDOWN_TIMEOUT_SECONDS`: the app's one deadline from SIGTERM (drain + queue close + ledger flush). */
  readonly shutdownTimeoutSeconds: number;
  /** preStop + the app's deadline + margin. */
  readonly terminationGracePeriodSeconds: number;
}

/** The longest a chat request can take: per target, attempts × per-attempt timeout plus the backoffs between them. */
export function longestRequestSeconds(settings: ShutdownSettings): number {
  const attempts = settings.maxRetries + 1;
  const perTarget = attempts * settings.timeoutSeconds + settings.maxRetries * (BACKOFF_MAX_MS / 1000);
  return Math.ceil((1 + settings.fallbackCount) * perTarget);
}

/**
 * The budget the settings need: preStop + HTTP drain (the longest request) +
 * queue close + ledger flush + margin. `shutdownTimeoutSeconds` overrides the
 * app's deadline (the grace period still adds preStop and margin around it).
 */
export function shutdownBudget(settings: ShutdownSettings, shutdownTimeoutSeconds?: number): ShutdownBudget {
  const longest = longestRequestSeconds(settings);
  const deadline = shutdownTimeoutSeconds ?? longest + QUEUE_CLOSE_SECONDS + LEDGER_FLUSH_SECONDS;
  return {
    longestRequestSeconds: longest,
    preStopSeconds: PRESTOP_SECONDS,
    httpDrainSeconds: Math.max(0, deadline - QUEUE_CLOSE_SECONDS - LEDGER_FLUSH_SECONDS),
    queueCloseSeconds: QUEUE_CLOSE_SECONDS,
    ledgerFlushSeconds: LEDGER_FLUSH_SECONDS,
    marginSeconds: MARGIN_SECONDS,
    shutdownTimeoutSeconds: deadline,
    terminationGracePeriodSeconds: PRESTOP_SECONDS + deadline + MARGIN_SECONDS,
  };
}

/**
 * How the app spends one deadline (ms from SIGTERM): the HTTP drain ends early
 * enough to leave the queue close and ledger flush their share (at most half
 * of a short deadline), and each later step gets what is left.
 */
export function drainDeadlineMs(deadlineMs: number): number {
  const reserve = Math.min((QUEUE_CLOSE_SECONDS + LEDGER_FLUSH_SECONDS) * 1000, deadlineMs / 2);
  return deadlineMs - reserve;
}
