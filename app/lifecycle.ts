/**
 * The process's serving state. Readiness answers 503 from the moment shutdown
 * begins so load balancers stop sending new work while in-flight requests and
 * jobs drain.
 */
export class Lifecycle {
  private draining = false;

  /** True once shutdown has begun. */
  get shuttingDown(): boolean {
    return this.draining;
  }

  /** Marks the process as draining; idempotent. */
  beginShutdown(): void {
    this.draining = true;
  }
}
