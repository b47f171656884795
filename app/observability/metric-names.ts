/**
 * The Prometheus metric names the gateway exports (docs/gateway.md "Metrics"). Alert
 * rules, dashboards and tests refer to these constants so a rename cannot
 * silently break an alert. Label sets are listed beside each; label values are
 * bounded (providers, models from config, statuses, reasons), never request ids
 * or prompts.
 */
export const METRIC = {
  /** counter {provider, model, status, cache}: chat requests answered. */
  requests: "ai_gateway_requests_total",
  /**
   * counter {provider}: degraded replies (AI_DEGRADED_REPLY): every target failed and the client
   * got the apology as a 200, also counted in `requests` as `provider="none", status="200"`.
   * `provider` is the first target, which failed. The error-rate alert counts these as errors.
   */
  degradedReplies: "ai_gateway_degraded_replies_total",
  /** histogram seconds {provider, model, stream}: arrival to last byte. */
  requestDuration: "ai_gateway_request_duration_seconds",
  /** histogram seconds {provider, model}: time waiting on upstreams. */
  upstreamDuration: "ai_gateway_upstream_duration_seconds",
  /** histogram seconds {stream}: request time not spent waiting on an upstream. */
  overhead: "ai_gateway_overhead_seconds",
  /** counter {provider, model, direction=input|output}. */
  tokens: "ai_gateway_tokens_total",
  /** counter {provider, model}: USD spent. */
  cost: "ai_gateway_cost_usd_total",
  /** counter {provider, model}: models served without a price (priced 0). */
  unpricedRequests: "ai_gateway_unpriced_requests_total",
  /** counter {provider, reason}: upstream attempts retried. */
  retries: "ai_gateway_retries_total",
  /** counter {from, to, reason}: failovers to the next target. */
  fallbacks: "ai_gateway_fallbacks_total",
  /** counter {provider, type}: upstream errors by classification. */
  upstreamErrors: "ai_gateway_upstream_errors_total",
  /** gauge {provider}: 0 closed, 1 half-open, 2 open. */
  circuitState: "ai_gateway_circuit_state",
  /**
   * counter {provider}: upstream attempts answered 429 (rate limited). Counted apart from
   * health failures: a 429 rotates the key and backs off but never counts against the breaker.
   */
  upstreamRateLimited: "ai_gateway_upstream_rate_limited_total",
  /** counter {provider}: key rotations after 401/429. */
  keyRotations: "ai_gateway_key_rotations_total",
  /** counter {store=redis|memory}. */
  cacheHits: "ai_gateway_cache_hits_total",
  /** counter {store=redis|memory}. */
  cacheMisses: "ai_gateway_cache_misses_total",
  /**
   * counter {store=redis|memory}: expired cached answers served because every provider failed
   * (`AI_CACHE_STALE_IF_ERROR_SECONDS`, `x-ai-cache: stale`).
   */
  cacheStaleServed: "ai_gateway_cache_stale_served_total",
  /** counter {store, operation}: cache operations that failed (Redis down). */
  cacheErrors: "ai_gateway_cache_errors_total",
  /** gauge: USD spent today (UTC), read from the budget at scrape time (so it drops to 0 at midnight). */
  budgetSpent: "ai_gateway_budget_spent_usd",
  /** gauge: the daily budget in USD. */
  budgetLimit: "ai_gateway_budget_limit_usd",
  /** counter {level=warning|critical}: budget alerts raised. */
  budgetAlerts: "ai_gateway_budget_alerts_total",
  /** gauge: ledger rows waiting in the local spool file. */
  ledgerSpoolDepth: "ai_gateway_ledger_spool_depth",
  /** counter {outcome=written|spooled|replayed|failed}: ledger rows. */
  ledgerRows: "ai_gateway_ledger_rows_total",
  /** counter: ledger rows Postgres refused for their data, moved to the dead-letter file (reason in the file). */
  ledgerDeadLetters: "ai_gateway_ledger_dead_letters_total",
  /** counter {kind=connection|data}: ledger INSERTs that failed (connection: rows spooled; data: batch split). */
  ledgerWriteErrors: "ai_gateway_ledger_write_errors_total",
  /** gauge: async jobs waiting or running. */
  jobsQueued: "ai_gateway_jobs_queued",
  /** counter {status=completed|failed}. */
  jobsFinished: "ai_gateway_jobs_finished_total",
  /** counter {reason=requests|tokens}: client requests refused by rate limits. */
  rateLimited: "ai_gateway_rate_limited_total",
  /** counter {action=log|block}: prompts that matched an injection heuristic. */
  injectionDetected: "ai_gateway_prompt_injection_total",
  /** counter {source}: alerts raised (budget, breaker, auth, failover, secrets). */
  alerts: "ai_gateway_alerts_total",
  /**
   * gauge {dependency=redis|postgres|chroma}: 1 when the optional dependency answered its health
   * check at scrape time, else 0. Readiness never depends on these (the request path serves without them).
   */
  dependencyUp: "ai_gateway_dependency_up",
  /** counter: connections closed on arrival because `GATEWAY_MAX_CONNECTIONS` sockets were open. */
  connectionsRefused: "ai_gateway_connections_refused_total",
  /** gauge: 1 while maintenance mode (`maintenance.enabled` in `AI_CONFIG_FILE`) refuses chat, jobs and batch, else 0. */
  maintenanceMode: "ai_gateway_maintenance_mode",
} as const;

/** Default process metrics prom-client exports that alert rules use. */
export const PROCESS_METRIC = {
  residentMemory: "process_resident_memory_bytes",
  cpuSeconds: "process_cpu_seconds_total",
} as const;

/**
 * Bucket bounds (seconds) of the request and upstream duration histograms. A
 * latency alert's threshold must stay below the largest: past it,
 * `histogram_quantile` answers that bound and the alert can never fire.
 */
export const DURATION_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120] as const;
