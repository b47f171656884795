import autocannon from "autocannon";

/** What one load run measured. */
export interface LoadResult {
  readonly label: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Options of {@link load}. */
export interface LoadOptions {
  readonly label: string;
  readonly url: string;
  readonly connections?: number;
  readonly durationSeconds?: number;
  readonly method?: "GET" | "POST";
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Runs autocannon against `url` and returns throughput and latency percentiles. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections ?? 50,
    duration: options.durationSeconds ?? 5,
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
  });
  return {
    label: options.label,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** Prints results as a Markdown table. */
export function report(results: readonly LoadResult[]): void {
  console.log("| run | req/s | p50 ms | p99 ms | errors | non-2xx |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} | ${r.non2xx} |`,
    );
  }
}
