/** A source of the current time, injected so tests control it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Time as the resilience layer sees it; tests inject a controllable one. */
export interface ResilienceClock extends Clock {
  /** Resolves after `ms`, or rejects with `signal.reason` once the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Real time: `Date.now` and an abortable `setTimeout`. */
export const realClock: ResilienceClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    }),
};
