import type { Registry } from "prom-client";
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

/** One sample of a Prometheus registry or scrape. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Every sample of a prom-client registry, read through prom-client itself
 * (`getMetricsAsJSON`), so label values arrive unescaped and histogram series
 * carry their `_bucket`, `_sum` and `_count` names.
 */
export async function registrySamples(registry: Registry): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values as Array<{
      metricName?: string;
      labels: Record<string, string | number>;
      value: number;
    }>) {
      const labels = Object.fromEntries(Object.entries(value.labels).map(([key, v]) => [key, String(v)]));
      samples.push({ name: value.metricName ?? metric.name, labels, value: value.value });
    }
  }
  return samples;
}

/**
 * The samples of a Prometheus text exposition (a `/metrics` scrape of a
 * gateway the test does not hold the registry of): the one text parser in the
 * tests.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ""] = (pair[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}

const asSamples = (source: string | readonly Sample[]): readonly Sample[] =>
  typeof source === "string" ? parseExposition(source) : source;

/** The value of the one sample with this name and exactly this label set, or undefined. */
export function sample(
  source: string | readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels);
  return asSamples(source).find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === wanted.length &&
      wanted.every(([key, value]) => s.labels[key] === value),
  )?.value;
}

/** The sum over every sample with this name whose labels include `labels` (0 when none). */
export function total(
  source: string | readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return asSamples(source)
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}
