import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ConfigStore } from "../config/config-store";
import { DEFAULT_MODELS, PROVIDER_NAMES } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { GatewayEvents } from "./events";
import { DURATION_BUCKETS_SECONDS, METRIC } from "./metric-names";

/** The status of a call the client hung up on (nginx's 499). */
const CLIENT_CLOSED = 499;

/** Label value used for models the configuration does not route and for absent providers. */
export const OTHER = "other";

const CIRCUIT_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;
const PROVIDERS: ReadonlySet<string> = new Set(PROVIDER_NAMES);

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Hooks the metrics subscribe to. */
  readonly events: GatewayEvents;
  /** Decides which model names may appear as label values (the models the config routes). */
  readonly config: ConfigStore;
  /** Collect prom-client's default process metrics. @default true */
  readonly processMetrics?: boolean;
}

/**
 * The gateway's Prometheus metrics in their own registry (so tests can build
 * many), fed by the typed event hooks, plus the small API the cache, ledger,
 * budget, jobs and security code call.
 */
export interface Metrics {
  readonly registry: Registry;
  /** The exposition text. */
  render(): Promise<string>;
  /** The exposition content type. */
  readonly contentType: string;
  cacheLookup(store: "redis" | "memory", hit: boolean): void;
  cacheError(store: "redis" | "memory", operation: string): void;
  budget(spentUsd: number, limitUsd: number): void;
  budgetAlert(level: "warning" | "critical"): void;
  ledgerSpoolDepth(rows: number): void;
  ledgerRows(outcome: "written" | "spooled" | "replayed" | "failed", count?: number): void;
  /** Reads the number of jobs waiting or running at scrape time (a shared queue is counted where it lives). */
  jobsQueuedFrom(source: () => number | Promise<number>): void;
  /** Where `ai_gateway_dependency_up` reads, at scrape time, which optional dependencies answer. */
  dependenciesFrom(source: () => Promise<Readonly<Record<string, boolean>>>): void;
  jobFinished(status: "completed" | "failed"): void;
  rateLimited(reason: "requests" | "tokens"): void;
  injectionDetected(action: "log" | "block"): void;
  alert(source: string): void;
  keyRotation(provider: string): void;
  /**
   * Generic recording by metric name (a `METRIC` constant), for modules that
   * take a small sink instead of this API. Unknown names and kinds are ignored;
   * `provider` and `model` label values are bounded as everywhere else.
   */
  inc(name: string, labels?: Readonly<Record<string, string>>, value?: number): void;
  set(name: string, value: number, labels?: Readonly<Record<string, string>>): void;
  gaugeFrom(name: string, source: () => number | Promise<number>): void;
  /** Unsubscribes from the events. */
  close(): void;
}

/** The model names a config routes: primary, fallbacks, route targets and aliases, priced models. */
export function routedModels(config: GatewayConfig): ReadonlySet<string> {
  const models = new Set<string>([config.model, ...Object.values(DEFAULT_MODELS)]);
  for (const target of config.fallbacks) models.add(target.model);
  for (const [alias, route] of Object.entries(config.file.routes)) {
    models.add(alias);
    for (const target of route.targets) models.add(target.model);
  }
  for (const byModel of Object.values(config.file.prices)) {
    for (const model of Object.keys(byModel ?? {})) models.add(model);
  }
  return models;
}

/** Builds the registry and subscribes it to the events. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const modelCache = new WeakMap<GatewayConfig, ReadonlySet<string>>();
  const model = (name: string | undefined): string => {
    if (!name) return OTHER;
    const config = options.config.get();
    let known = modelCache.get(config);
    if (!known) {
      known = routedModels(config);
      modelCache.set(config, known);
    }
    return known.has(name) ? name : OTHER;
  };
  // `none`: an error no provider was tried for (validation, budget, limits).
  const provider = (name: string | undefined): string =>
    name === undefined ? "none" : PROVIDERS.has(name) ? name : OTHER;

  const requests = new Counter({
    name: METRIC.requests,
    help: "Chat requests answered, by provider, model, HTTP status and cache result",
    labelNames: ["provider", "model", "status", "cache"],
    registers,
  });
  const degradedReplies = new Counter({
    name: METRIC.degradedReplies,
    help: "Degraded replies: every target failed and the client got the apology as a 200, by first target",
    labelNames: ["provider"],
    registers,
  });
  const requestDuration = new Histogram({
    name: METRIC.requestDuration,
    help: "Chat request duration from arrival to the last byte, in seconds",
    labelNames: ["provider", "model", "stream"],
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: METRIC.upstreamDuration,
    help: "Time spent waiting on upstream providers per request (all attempts), in seconds",
    labelNames: ["provider", "model"],
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers,
  });
  const overhead = new Histogram({
    name: METRIC.overhead,
    help: "Request time not spent waiting on an upstream (the gateway's own cost), in seconds",
    labelNames: ["stream"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const tokens = new Counter({
    name: METRIC.tokens,
    help: "Tokens processed, by provider, model and direction",
    labelNames: ["provider", "model", "direction"],
    registers,
  });
  const cost = new Counter({
    name: METRIC.cost,
    help: "USD spent on upstream calls",
    labelNames: ["provider", "model"],
    registers,
  });
  new Counter({
    name: METRIC.unpricedRequests,
    help: "Requests served by a model without a configured price (priced 0)",
    labelNames: ["provider", "model"],
    registers,
  });
  const retries = new Counter({
    name: METRIC.retries,
    help: "Upstream attempts retried, by provider and failure reason",
    labelNames: ["provider", "reason"],
    registers,
  });
  const fallbacks = new Counter({
    name: METRIC.fallbacks,
    help: "Failovers from one provider to the next target",
    labelNames: ["from", "to", "reason"],
    registers,
  });
  const upstreamErrors = new Counter({
    name: METRIC.upstreamErrors,
    help: "Failed upstream attempts, by provider and classification",
    labelNames: ["provider", "type"],
    registers,
  });
  const upstreamRateLimited = new Counter({
    name: METRIC.upstreamRateLimited,
    help: "Upstream attempts answered 429, by provider (not counted against the circuit breaker)",
    labelNames: ["provider"],
    registers,
  });
  const circuitState = new Gauge({
    name: METRIC.circuitState,
    help: "Circuit breaker state per provider: 0 closed, 1 half-open, 2 open",
    labelNames: ["provider"],
    registers,
  });
  const keyRotations = new Counter({
    name: METRIC.keyRotations,
    help: "Provider key rotations after 401/429",
    labelNames: ["provider"],
    registers,
  });
  const cacheHits = new Counter({
    name: METRIC.cacheHits,
    help: "Response cache hits",
    labelNames: ["store"],
    registers,
  });
  new Counter({
    name: METRIC.cacheStaleServed,
    help: "Expired cached answers served because every provider failed (stale-if-error)",
    labelNames: ["store"],
    registers,
  });
  const cacheMisses = new Counter({
    name: METRIC.cacheMisses,
    help: "Response cache misses",
    labelNames: ["store"],
    registers,
  });
  const cacheErrors = new Counter({
    name: METRIC.cacheErrors,
    help: "Cache operations that failed",
    labelNames: ["store", "operation"],
    registers,
  });
  // Scrape-time sources of gauges (by METRIC name), so a value tied to the clock
  // (today's spend) is current even when nothing recorded since midnight.
  const gaugeSources = new Map<string, () => number | Promise<number>>();
  const budgetSpent = new Gauge({
    name: METRIC.budgetSpent,
    help: "USD spent today (UTC)",
    registers,
    async collect() {
      const source = gaugeSources.get(METRIC.budgetSpent);
      if (!source) return;
      try {
        const value = await source();
        if (Number.isFinite(value)) this.set(value);
      } catch {
        // The budget's store is unreachable; keep the last value rather than failing the scrape.
      }
    },
  });
  const budgetLimit = new Gauge({ name: METRIC.budgetLimit, help: "The daily budget in USD", registers });
  const budgetAlerts = new Counter({
    name: METRIC.budgetAlerts,
    help: "Budget alerts raised",
    labelNames: ["level"],
    registers,
  });
  const spoolDepth = new Gauge({
    name: METRIC.ledgerSpoolDepth,
    help: "Ledger rows waiting in the local spool file",
    registers,
  });
  const ledgerRows = new Counter({
    name: METRIC.ledgerRows,
    help: "Ledger rows by outcome",
    labelNames: ["outcome"],
    registers,
  });
  new Counter({
    name: METRIC.ledgerDeadLetters,
    help: "Ledger rows refused by Postgres for their data and moved to the dead-letter file",
    registers,
  });
  const ledgerWriteErrors = new Counter({
    name: METRIC.ledgerWriteErrors,
    help: "Ledger INSERTs that failed, by kind (connection: rows spooled; data: batch split)",
    labelNames: ["kind"],
    registers,
  });
  // Both series exist from the start, so the alert's selector always has something to read.
  for (const kind of ["connection", "data"]) ledgerWriteErrors.inc({ kind }, 0);
  let jobsSource: (() => number | Promise<number>) | undefined;
  new Gauge({
    name: METRIC.jobsQueued,
    help: "Async jobs waiting or running",
    registers,
    async collect() {
      if (!jobsSource) return;
      try {
        this.set(await jobsSource());
      } catch {
        // The queue's store is unreachable; keep the last value rather than failing the scrape.
      }
    },
  });
  let dependencySource: (() => Promise<Readonly<Record<string, boolean>>>) | undefined;
  new Gauge({
    name: METRIC.dependencyUp,
    help: "1 when an optional dependency (Redis, Postgres, Chroma) answers its health check, else 0",
    labelNames: ["dependency"],
    registers,
    async collect() {
      if (!dependencySource) return;
      for (const [dependency, up] of Object.entries(await dependencySource())) {
        this.set({ dependency }, up ? 1 : 0);
      }
    },
  });
  const jobsFinished = new Counter({
    name: METRIC.jobsFinished,
    help: "Async jobs finished, by status",
    labelNames: ["status"],
    registers,
  });
  const rateLimited = new Counter({
    name: METRIC.rateLimited,
    help: "Client requests refused by rate limits",
    labelNames: ["reason"],
    registers,
  });
  const injection = new Counter({
    name: METRIC.injectionDetected,
    help: "Prompts that matched a prompt-injection heuristic",
    labelNames: ["action"],
    registers,
  });
  const alerts = new Counter({
    name: METRIC.alerts,
    help: "Alerts raised, by source",
    labelNames: ["source"],
    registers,
  });

  new Counter({
    name: METRIC.connectionsRefused,
    help: "Connections closed on arrival because GATEWAY_MAX_CONNECTIONS sockets were open",
    registers,
  });
  new Gauge({
    name: METRIC.maintenanceMode,
    help: "1 while maintenance mode refuses chat, jobs and batch (AI_CONFIG_FILE maintenance.enabled), else 0",
    registers,
    collect() {
      // Read at scrape time from the configuration in force, so a reload shows at once.
      this.set(options.config.get().file.maintenance?.enabled ? 1 : 0);
    },
  });

  budgetLimit.set(options.config.get().dailyBudgetUsd);
  for (const name of PROVIDER_NAMES) circuitState.set({ provider: name }, 0);

  const { events } = options;
  const unsubscribe = [
    events.on("onResponse", (event) => {
      const labels = { provider: provider(event.provider), model: model(event.model) };
      const stream = String(event.stream);
      // A call the client left is billed here (status 499) and reported by onError as well:
      // the request is counted once, by onError; its tokens are counted here, as the ledger bills them.
      if (event.status !== CLIENT_CLOSED) {
        requests.inc({ ...labels, status: String(event.status), cache: event.cacheHit ? "hit" : "miss" });
        requestDuration.observe({ ...labels, stream }, event.durationMs / 1000);
        if (!event.cacheHit) upstreamDuration.observe(labels, event.upstreamMs / 1000);
        overhead.observe({ stream }, Math.max(0, event.durationMs - event.upstreamMs) / 1000);
      }
      // Tokens the providers processed, as the ledger counts them: a cache hit processed none.
      if (event.cacheHit) return;
      if (event.inputTokens > 0) tokens.inc({ ...labels, direction: "input" }, event.inputTokens);
      if (event.outputTokens > 0) tokens.inc({ ...labels, direction: "output" }, event.outputTokens);
    }),
    events.on("onError", (event) => {
      const labels = { provider: provider(event.provider), model: model(event.model) };
      requests.inc({ ...labels, status: String(event.status), cache: "none" });
      requestDuration.observe({ ...labels, stream: "false" }, event.durationMs / 1000);
    }),
    events.on("onDegraded", (event) => {
      // The client got a 200 from no provider (`x-ai-provider: none`), as the requests counter says;
      // the degraded counter names the first target so the error-rate alert and dashboards can tell.
      const labels = { provider: "none", model: model(event.model) };
      requests.inc({ ...labels, status: "200", cache: "none" });
      requestDuration.observe({ ...labels, stream: String(event.stream) }, event.durationMs / 1000);
      degradedReplies.inc({ provider: provider(event.provider) });
    }),
    // Each failed upstream attempt, once, with the provider that failed and its classification.
    events.on("onUpstreamError", (event) => {
      upstreamErrors.inc({ provider: provider(event.provider), type: event.type });
      if (event.type === "rate_limit") upstreamRateLimited.inc({ provider: provider(event.provider) });
    }),
    events.on("onKeyRotation", (event) => keyRotations.inc({ provider: provider(event.provider) })),
    events.on("onRetry", (event) => {
      retries.inc({ provider: provider(event.provider), reason: event.reason });
    }),
    events.on("onFallback", (event) => {
      fallbacks.inc({ from: provider(event.from), to: provider(event.to), reason: event.reason });
    }),
    events.on("onCircuitChange", (event) => {
      circuitState.set({ provider: provider(event.provider) }, CIRCUIT_VALUE[event.state]);
    }),
    events.on("onCost", (event) => {
      const labels = { provider: provider(event.provider), model: model(event.model) };
      const usd = Number(event.costUsd);
      if (Number.isFinite(usd) && usd > 0) cost.inc(labels, usd);
      // Unpriced requests are counted by the ledger through `inc(METRIC.unpricedRequests)`, not here.
    }),
  ];
  options.config.onChange((next) => budgetLimit.set(next.dailyBudgetUsd));

  const bounded = (labels: Readonly<Record<string, string>> = {}): Record<string, string> => {
    const out: Record<string, string> = { ...labels };
    if ("provider" in out) out["provider"] = provider(out["provider"]);
    if ("model" in out) out["model"] = model(out["model"]);
    return out;
  };

  return {
    registry,
    contentType: registry.contentType,
    inc: (name, labels, value = 1) => {
      const metric = registry.getSingleMetric(name);
      if (metric instanceof Counter) metric.inc(bounded(labels), value);
      else if (metric instanceof Gauge) metric.inc(bounded(labels), value);
    },
    set: (name, value, labels) => {
      const metric = registry.getSingleMetric(name);
      if (metric instanceof Gauge) metric.set(bounded(labels), value);
    },
    gaugeFrom: (name, source) => {
      if (name === METRIC.budgetSpent) gaugeSources.set(name, source);
    },
    render: () => registry.metrics(),
    cacheLookup: (store, hit) => (hit ? cacheHits : cacheMisses).inc({ store }),
    cacheError: (store, operation) => cacheErrors.inc({ store, operation }),
    budget: (spentUsd, limitUsd) => {
      budgetSpent.set(spentUsd);
      budgetLimit.set(limitUsd);
    },
    budgetAlert: (level) => budgetAlerts.inc({ level }),
    ledgerSpoolDepth: (rows) => spoolDepth.set(rows),
    ledgerRows: (outcome, count = 1) => ledgerRows.inc({ outcome }, count),
    jobsQueuedFrom: (source) => {
      jobsSource = source;
    },
    dependenciesFrom: (source) => {
      dependencySource = source;
    },
    jobFinished: (status) => jobsFinished.inc({ status }),
    rateLimited: (reason) => rateLimited.inc({ reason }),
    injectionDetected: (action) => injection.inc({ action }),
    alert: (source) => alerts.inc({ source }),
    keyRotation: (name) => keyRotations.inc({ provider: provider(name) }),
    close: () => {
      for (const off of unsubscribe) off();
    },
  };
}
