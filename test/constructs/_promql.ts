import type { Registry } from "prom-client";

/** A series a registry exposes and the label names it carries. */
export type DeclaredSeries = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Every series name the registry exposes, as Prometheus will see it after a
 * scrape, with its label names: counters and gauges by their name, histograms
 * as `_bucket` (plus `le`), `_sum` and `_count`, summaries as the name (plus
 * `quantile`), `_sum` and `_count`.
 */
export async function declaredSeries(registry: Registry): Promise<DeclaredSeries> {
  const out = new Map<string, ReadonlySet<string>>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const labels = declaredLabelNames(registry, metric.name);
    const add = (series: string, extra: readonly string[] = []) =>
      out.set(series, new Set([...labels, ...extra]));
    // prom-client types `type` as a numeric enum, but the values are the exposition's type names.
    const type = String(metric.type);
    if (type === "histogram") {
      add(`${metric.name}_bucket`, ["le"]);
      add(`${metric.name}_sum`);
      add(`${metric.name}_count`);
    } else if (type === "summary") {
      add(metric.name, ["quantile"]);
      add(`${metric.name}_sum`);
      add(`${metric.name}_count`);
    } else {
      add(metric.name);
    }
  }
  return out;
}

/** The label names a metric was declared with (prom-client keeps them on the metric as `labelNames`). */
function declaredLabelNames(registry: Registry, name: string): readonly string[] {
  const metric: unknown = registry.getSingleMetric(name);
  const labelNames =
    typeof metric === "object" && metric !== null && "labelNames" in metric ? metric.labelNames : undefined;
  if (!Array.isArray(labelNames) || !labelNames.every((label) => typeof label === "string")) {
    throw new Error(`metric ${name} has no labelNames array`);
  }
  return labelNames;
}

/** PromQL functions and aggregations the alert rules may call. */
const FUNCTIONS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "count",
  "topk",
  "bottomk",
  "quantile",
  "rate",
  "irate",
  "increase",
  "delta",
  "deriv",
  "histogram_quantile",
  "clamp_min",
  "clamp_max",
  "abs",
  "absent",
  "max_over_time",
  "min_over_time",
  "avg_over_time",
  "vector",
]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset"]);
const GROUPINGS = new Set(["by", "without", "on", "ignoring"]);

type Token =
  | { readonly kind: "ident"; readonly text: string }
  | { readonly kind: "matchers"; readonly text: string }
  | { readonly kind: "open" | "close" | "range" | "number" | "op"; readonly text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s+|(?<matchers>\{[^}]*\})|(?<range>\[[^\]]*\])|(?<number>\d+(?:\.\d+)?(?:e[-+]?\d+)?)|(?<ident>[A-Za-z_:][A-Za-z0-9_:]*)|(?<open>\()|(?<close>\))|(?<op>==|!=|>=|<=|[-+*/%^<>,])/gy;
  let at = 0;
  while (at < expr.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(expr);
    if (!match) break;
    at = pattern.lastIndex;
    const groups = match.groups ?? {};
    for (const kind of ["matchers", "range", "number", "ident", "open", "close", "op"] as const) {
      const text = groups[kind];
      if (text !== undefined) tokens.push({ kind, text });
    }
  }
  if (at !== expr.length) throw new Error(`cannot tokenize PromQL at ${at}: ${expr.slice(at)}`);
  return tokens;
}

/** A series selector in an expression, with the labels its matchers name. */
export interface SelectorUse {
  readonly metric: string;
  readonly matchers: readonly { readonly label: string; readonly op: string; readonly value: string }[];
}

/** What an expression reads: its series selectors and the labels its groupings name, with the series each grouping covers. */
export interface PromqlUses {
  readonly selectors: readonly SelectorUse[];
  readonly groupings: readonly { readonly labels: readonly string[]; readonly over: readonly string[] }[];
}

function parseMatchers(block: string): SelectorUse["matchers"] {
  const inner = block.slice(1, -1).trim();
  if (!inner) return [];
  const out: { label: string; op: string; value: string }[] = [];
  const pattern = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/gy;
  let at = 0;
  while (at < inner.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(inner);
    if (!match) break;
    at = pattern.lastIndex;
    out.push({ label: match[1] ?? "", op: match[2] ?? "", value: match[3] ?? "" });
  }
  if (at !== inner.length) throw new Error(`cannot parse label matchers ${block}`);
  return out;
}

/** Index of the parenthesis closing the one at `open`. */
function closing(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]?.kind === "open") depth++;
    if (tokens[i]?.kind === "close" && --depth === 0) return i;
  }
  throw new Error("unbalanced parentheses");
}

/** Index of the parenthesis opening the one closing at `close`. */
function opening(tokens: readonly Token[], close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (tokens[i]?.kind === "close") depth++;
    if (tokens[i]?.kind === "open" && --depth === 0) return i;
  }
  throw new Error("unbalanced parentheses");
}

/** Reads the selectors and groupings of a PromQL expression; unknown functions are an error, not a metric. */
export function promqlUses(expr: string): PromqlUses {
  const tokens = tokenize(expr);
  const selectors: SelectorUse[] = [];
  const selectorAt = new Map<number, string>();
  const groupingAt: { labels: string[]; from: number; to: number }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token) continue;
    if (token.kind === "matchers") throw new Error(`selector without a metric name: ${token.text}`);
    if (token.kind !== "ident") continue;
    const next = tokens[i + 1];
    if (GROUPINGS.has(token.text)) {
      if (next?.kind !== "open") throw new Error(`${token.text} without a label list`);
      const end = closing(tokens, i + 1);
      const labels = tokens
        .slice(i + 2, end)
        .filter((t) => t.kind !== "op")
        .map((t) => t.text);
      // `sum by (x) (...)` covers the group after; `sum(...) by (x)` the group before.
      const after = tokens[end + 1];
      const before = tokens[i - 1];
      if (after?.kind === "open") groupingAt.push({ labels, from: end + 1, to: closing(tokens, end + 1) });
      else if (before?.kind === "close") groupingAt.push({ labels, from: opening(tokens, i - 1), to: i - 1 });
      else throw new Error(`${token.text} (${labels.join(", ")}) applies to nothing`);
      i = end;
    } else if (next?.kind === "open" || (next?.kind === "ident" && GROUPINGS.has(next.text))) {
      if (!FUNCTIONS.has(token.text)) throw new Error(`unknown PromQL function ${token.text}`);
    } else if (!KEYWORDS.has(token.text)) {
      const matchers = next?.kind === "matchers" ? parseMatchers(next.text) : [];
      selectors.push({ metric: token.text, matchers });
      selectorAt.set(i, token.text);
      if (next?.kind === "matchers") i++;
    }
  }
  return {
    selectors,
    groupings: groupingAt.map(({ labels, from, to }) => ({
      labels,
      over: [...selectorAt].filter(([at]) => at > from && at < to).map(([, metric]) => metric),
    })),
  };
}

/** Labels Prometheus adds to every series it scrapes through a ServiceMonitor (target labels). */
export const TARGET_LABELS: ReadonlySet<string> = new Set([
  "job",
  "instance",
  "namespace",
  "pod",
  "service",
  "endpoint",
  "container",
]);

/** Why an expression would read nothing from the declared series; empty when it reads only what exists. */
export function undeclaredUses(expr: string, declared: DeclaredSeries): string[] {
  const uses = promqlUses(expr);
  const problems: string[] = [];
  if (uses.selectors.length === 0) problems.push("reads no series");
  const labelProblem = (metric: string, label: string, how: string) => {
    const labels = declared.get(metric);
    if (labels && !labels.has(label) && !TARGET_LABELS.has(label)) {
      problems.push(`${metric} has no label ${label} (${how})`);
    }
  };
  for (const { metric, matchers } of uses.selectors) {
    if (!declared.has(metric)) problems.push(`${metric} is not declared`);
    for (const { label } of matchers) labelProblem(metric, label, "matcher");
  }
  for (const { labels, over } of uses.groupings) {
    if (over.length === 0) problems.push(`grouping (${labels.join(", ")}) covers no series`);
    for (const metric of over) for (const label of labels) labelProblem(metric, label, "grouping");
  }
  return problems;
}
