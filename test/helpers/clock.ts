import type { ResilienceClock } from "../../app/resilience/clock";

/** A pending `sleep` on a {@link ManualClock}. */
export interface PendingSleep {
  readonly ms: number;
  readonly resolve: () => void;
}

/**
 * A controllable resilience clock: `now()` is `Date.now()` (fake it with
 * `vi.setSystemTime` where a test needs to), and every `sleep` is recorded.
 * With `hold` on, sleeps wait for `advance()`; otherwise they resolve at once.
 */
export class ManualClock implements ResilienceClock {
  /** Every sleep requested, in ms, in order. */
  readonly sleeps: number[] = [];
  private readonly pending: PendingSleep[] = [];
  private readonly sleepWaiters: (() => void)[] = [];

  constructor(private readonly hold = false) {}

  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    for (const waiter of this.sleepWaiters.splice(0)) waiter();
    if (!this.hold) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry = { ms, resolve };
      this.pending.push(entry);
      signal.addEventListener("abort", () => {
        this.pending.splice(this.pending.indexOf(entry), 1);
        reject(signal.reason);
      });
    });
  }

  /** Resolves once a sleep has been requested (or at once if one is pending). */
  async waitForSleep(): Promise<void> {
    if (this.pending.length > 0) return;
    await new Promise<void>((resolve) => this.sleepWaiters.push(resolve));
  }

  /** Releases every pending sleep of at most `ms`. */
  advance(ms: number): void {
    for (const entry of [...this.pending]) {
      if (entry.ms <= ms) {
        this.pending.splice(this.pending.indexOf(entry), 1);
        entry.resolve();
      }
    }
  }
}
