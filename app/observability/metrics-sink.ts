/** Label values of one metric sample; bounded sets only (providers, models, reasons). */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * The few recording calls the cache, ledger and budget make. The prom-client
 * registry implements it by looking the name (a `METRIC` constant) up in its
 * registry, so these modules never import prom-client themselves.
 */
export interface MetricsSink {
  /** Adds `value` (default 1) to a counter. */
  inc(name: string, labels?: MetricLabels, value?: number): void;
  /** Sets a gauge. */
  set(name: string, value: number, labels?: MetricLabels): void;
  /**
   * Reads an unlabelled gauge from `source` at every scrape (only gauges the
   * registry gives a scrape hook: `METRIC.budgetSpent`); a source that throws
   * leaves the last value. Optional: sinks that cannot scrape ignore it.
   */
  gaugeFrom?(name: string, source: () => number | Promise<number>): void;
}

/** Records nothing; the default until a registry is wired in. */
export const noopMetrics: MetricsSink = { inc: () => {}, set: () => {} };
