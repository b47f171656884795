import type { MetricLabels, MetricsSink } from "../../app/observability/metrics-sink";

/** A metrics sink that remembers what was counted and the last value of each gauge. */
export class RecordingMetrics implements MetricsSink {
  readonly counts = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  inc(name: string, labels: MetricLabels = {}, value = 1): void {
    const id = `${name}${JSON.stringify(labels)}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + value);
  }
  set(name: string, value: number): void {
    this.gauges.set(name, value);
  }
  /** How much was added to a counter with exactly these labels. */
  count(name: string, labels: MetricLabels): number {
    return this.counts.get(`${name}${JSON.stringify(labels)}`) ?? 0;
  }
}
