/** Something to flush or close on shutdown (ledger, queues, connections), run in reverse order of registration. */
export type ShutdownHook = () => Promise<void> | void;

/**
 * The process's serving state. Readiness answers 503 from the moment shutdown
 * begins so load balancers stop sending new work while in-flight requests and
 * jobs drain. It also carries the one shutdown deadline every step shares.
 */
export class Lifecycle {
  private draining = false;
  private deadlineAt = Number.POSITIVE_INFINITY;
  private readonly listeners: (() => void)[] = [];

  /** True once shutdown has begun. */
  get shuttingDown(): boolean {
    return this.draining;
  }

  /**
   * Marks the process as draining and records when the whole shutdown must be
   * done (epoch ms); runs the shutdown listeners once. Idempotent.
   */
  beginShutdown(deadlineAt?: number): void {
    if (this.draining) return;
    this.draining = true;
    if (deadlineAt !== undefined) this.deadlineAt = deadlineAt;
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** Runs `listener` when shutdown begins (the job worker stops taking work there, not after the HTTP drain). */
  onShutdown(listener: () => void): void {
    if (this.draining) listener();
    else this.listeners.push(listener);
  }

  /** Milliseconds left of the shutdown deadline, less `reserveMs` kept for later steps; never negative. */
  remainingMs(now: number, reserveMs = 0): number {
    if (!Number.isFinite(this.deadlineAt)) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.deadlineAt - reserveMs - now);
  }
}
