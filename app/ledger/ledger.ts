import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import type { FileConfig } from "../config/file-config";
import type { GatewayEvents, ResponseEvent } from "../observability/events";
import { METRIC } from "../observability/metric-names";
import { type MetricsSink, noopMetrics } from "../observability/metrics-sink";
import { type LedgerDb, migrate, openLedgerDb } from "./db";
import { DeadLetters } from "./dead-letters";
import { Journal } from "./journal";
import { picoToUsdString, usdStringToPico } from "./money";
import { PriceTable } from "./prices";
import type { LedgerRow } from "./row";
import { Spool } from "./spool";
import { storableText } from "./storable";
import { LedgerWriter, type LedgerWriterOptions } from "./writer";

/** The UTC day (`YYYY-MM-DD`) of an epoch-milliseconds time. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** One provider's share of a day. */
export interface ProviderUsage {
  requests: number;
  tokens: number;
  /** Pico-dollars. */
  costPico: bigint;
}

/** A day's totals from the ledger. */
export interface DayUsage {
  readonly day: string;
  readonly requests: number;
  readonly cacheHits: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Pico-dollars. */
  readonly costPico: bigint;
  readonly byProvider: Readonly<Record<string, ProviderUsage>>;
}

/** Options of {@link openCostLedger}. */
export interface CostLedgerOptions {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly logger: Logger;
  /** The current `AI_CONFIG_FILE` prices; read per request so a reload takes effect. */
  readonly prices?: () => FileConfig["prices"];
  readonly metrics?: MetricsSink;
  readonly clock?: { now(): number };
  /** Postgres schema of the tables; tests isolate with their own. @default "public" */
  readonly schema?: string;
  /** Where spool files go. @default `${dataDir}/ledger-spool` */
  readonly spoolDir?: string;
  /** Where the write-ahead journal goes. @default `${dataDir}/ledger-journal` */
  readonly journalDir?: string;
  readonly writer?: Pick<LedgerWriterOptions, "batchSize" | "flushIntervalMs" | "replayIntervalMs">;
  /** The gateway's alert sink; a dead-lettered row raises one alert there. */
  readonly alert?: LedgerWriterOptions["alert"];
  /** Days of rollups kept before today (`LEDGER_ROLLUP_RETENTION_DAYS`): how far back usage history reaches. @default 730 */
  readonly rollupRetentionDays?: number;
}

/** One day, tenant, provider and model of usage history (from `ledger_daily`). */
export interface HistoryRow {
  readonly day: string;
  readonly tenant: string;
  readonly provider: string;
  readonly model: string;
  readonly requests: number;
  readonly cacheHits: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Pico-dollars. */
  readonly costPico: bigint;
  /** Requests whose tokens are the gateway's estimate. */
  readonly estimated: number;
}

/**
 * Opens the ledger: the database (Postgres or PGlite), migrations under an
 * advisory lock, the spool, and the batch writer. If the database cannot be
 * reached at start the gateway still starts: migrations are retried before
 * each replay and rows wait in the spool.
 */
export async function openCostLedger(options: CostLedgerOptions): Promise<CostLedger> {
  const db = await openLedgerDb({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    schema: options.schema,
  });
  const spool = new Spool({
    dir: options.spoolDir ?? join(options.dataDir, "ledger-spool"),
    logger: options.logger,
  });
  await spool.init();
  // Rows a killed process had journaled but not stored go to the spool, which replays them below.
  const journal = new Journal({
    dir: options.journalDir ?? join(options.dataDir, "ledger-journal"),
    logger: options.logger,
  });
  const recovered = journal.recover();
  if (recovered.rows.length > 0) {
    await spool.append(recovered.rows);
    options.logger.warn({ rows: recovered.rows.length }, "ledger rows recovered from the journal");
  }
  journal.discard(recovered.segments);
  journal.start();
  const ledger = new CostLedger(db, spool, options, journal);
  await ledger.ensureSchema();
  ledger.writer.start();
  if (spool.depth > 0) await ledger.writer.replay();
  return ledger;
}

/**
 * The cost ledger: prices each served request exactly, writes one row per
 * request in batches, emits `onCost`, and answers usage questions.
 */
export class CostLedger {
  readonly writer: LedgerWriter;
  /** Rows the database refused for their data. */
  readonly deadLetters: DeadLetters;
  migrated = false;
  private readonly metrics: MetricsSink;
  private readonly clock: { now(): number };
  private readonly flagged = new Set<string>();
  // Events recorded by record(), so attach() never bills the same call twice.
  private readonly billed = new WeakSet<ResponseEvent>();
  private priceTable: { source: FileConfig["prices"] | undefined; table: PriceTable } | undefined;

  constructor(
    readonly db: LedgerDb,
    private readonly spool: Spool,
    private readonly options: CostLedgerOptions,
    private readonly journal?: Journal,
  ) {
    this.metrics = options.metrics ?? noopMetrics;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.deadLetters = new DeadLetters(join(spool.dir, "dead-letter.ndjson"));
    this.writer = new LedgerWriter({
      db,
      spool,
      deadLetters: this.deadLetters,
      journal,
      logger: options.logger,
      metrics: this.metrics,
      alert: options.alert,
      ...options.writer,
      // The database may have been down at start: migrate before the first replay.
      prepare: async () => {
        if (!(await this.ensureSchema())) throw new Error("ledger migrations pending");
      },
    });
  }

  /** Runs migrations once; false when the database is unreachable (retried before each replay). */
  async ensureSchema(): Promise<boolean> {
    if (this.migrated) return true;
    try {
      await migrate(this.db, { schema: this.options.schema, logger: this.options.logger });
      this.migrated = true;
      return true;
    } catch (error) {
      this.options.logger.warn(
        { err: { message: (error as Error).message } },
        "ledger migrations could not run; rows will be spooled until the database is reachable",
      );
      return false;
    }
  }

  /**
   * Records every `onResponse` not already billed through {@link record} (the
   * chat pipeline's bill step, app/chat/pipeline.ts, records before the hook is
   * emitted); returns the unsubscribe function. The gateway itself does not
   * attach: it bills through the pipeline.
   */
  attach(events: GatewayEvents): () => void {
    return events.on("onResponse", (event) => {
      if (!this.billed.has(event)) this.record(event, events);
    });
  }

  /** Prices a served request, buffers its row and emits `onCost`. Cache hits cost nothing. */
  record(event: ResponseEvent, events?: GatewayEvents): LedgerRow {
    this.billed.add(event);
    const now = this.clock.now();
    const priced = event.cacheHit
      ? { costPico: 0n, unpriced: false }
      : this.prices().price(event.provider, event.model, event.inputTokens, event.outputTokens);
    if (priced.unpriced) {
      this.metrics.inc(METRIC.unpricedRequests, { provider: event.provider, model: event.model });
      // One line per model (the metric counts every request), so an unpriced model cannot flood the log.
      const name = `${event.provider}/${event.model}`;
      if (!this.flagged.has(name) && this.flagged.size < 1_000) {
        this.flagged.add(name);
        this.options.logger.warn(
          { provider: event.provider, model: event.model, requestId: event.requestId },
          "no price for model; priced 0 (add it to prices in AI_CONFIG_FILE)",
        );
      }
    }
    const costUsd = picoToUsdString(priced.costPico);
    const occurredAt = new Date(now).toISOString();
    const row: LedgerRow = {
      // The ledger owns its key: one per billed call, so a client reusing an
      // x-request-id (or a batch item, or a job) never makes a row disappear.
      requestId: randomUUID(),
      clientRequestId: storableText(event.requestId),
      occurredAt,
      day: occurredAt.slice(0, 10),
      // Every text field is made storable here too, whatever its source.
      tenant: storableText(event.tenant),
      provider: storableText(event.provider),
      model: storableText(event.model),
      inputTokens: nonNegativeInt(event.inputTokens),
      outputTokens: nonNegativeInt(event.outputTokens),
      costUsd,
      latencyMs: nonNegativeInt(Math.round(event.durationMs)),
      attempts: nonNegativeInt(event.attempts),
      fallbackUsed: event.fallbackUsed,
      cacheHit: event.cacheHit,
      unpriced: priced.unpriced,
      stream: event.stream,
      status: event.status,
      estimated: event.estimated === true,
      ...(event.kind ? { kind: event.kind } : {}),
    };
    this.writer.write(row);
    events?.emit("onCost", {
      requestId: event.requestId,
      tenant: event.tenant,
      provider: event.provider,
      model: event.model,
      costUsd,
      cacheHit: event.cacheHit,
      unpriced: priced.unpriced,
    });
    return row;
  }

  /** The cost of tokens on a target in pico-dollars under the prices in force (0 when unpriced). */
  price(provider: string, model: string, inputTokens: number, outputTokens: number): bigint {
    return this.prices().price(provider, model, inputTokens, outputTokens).costPico;
  }

  /**
   * A day's totals, of one tenant or (tenant undefined) of all. Flushes this
   * process's buffer first so its own recent rows count.
   */
  async usage(day: string, tenant?: string): Promise<DayUsage> {
    await this.writer.flush();
    // From the rollups (issue 18): one small row per tenant, provider, model and kind, never the raw rows.
    const rows = await this.db.query<{
      provider: string;
      requests: string;
      cache_hits: string;
      input_tokens: string;
      output_tokens: string;
      cost: string;
    }>(
      `SELECT provider,
              sum(requests)::text AS requests,
              sum(cache_hits)::text AS cache_hits,
              sum(input_tokens)::text AS input_tokens,
              sum(output_tokens)::text AS output_tokens,
              sum(cost_usd)::text AS cost
         FROM ledger_daily WHERE day = $1 AND ($2::text IS NULL OR tenant = $2)
        GROUP BY provider ORDER BY provider`,
      [day, tenant ?? null],
    );
    const byProvider: Record<string, ProviderUsage> = {};
    let requests = 0;
    let cacheHits = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    let costPico = 0n;
    for (const row of rows) {
      const input = Number(row.input_tokens);
      const output = Number(row.output_tokens);
      const cost = usdStringToPico(row.cost);
      byProvider[row.provider] = { requests: Number(row.requests), tokens: input + output, costPico: cost };
      requests += Number(row.requests);
      cacheHits += Number(row.cache_hits);
      inputTokens += input;
      outputTokens += output;
      costPico += cost;
    }
    return { day, requests, cacheHits, inputTokens, outputTokens, costPico, byProvider };
  }

  /** How many days before today usage history reaches (`LEDGER_ROLLUP_RETENTION_DAYS`). */
  get rollupRetentionDays(): number {
    return this.options.rollupRetentionDays ?? 730;
  }

  /**
   * Usage from `from` to `to` (UTC days, inclusive) by day, tenant, provider
   * and model, of one tenant or (tenant undefined) of all; from the rollups.
   */
  async history(from: string, to: string, tenant?: string): Promise<HistoryRow[]> {
    await this.writer.flush();
    const rows = await this.db.query<Record<string, string>>(
      `SELECT day::text AS day, tenant, provider, model,
              sum(requests)::text AS requests, sum(cache_hits)::text AS cache_hits,
              sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens,
              sum(cost_usd)::text AS cost, sum(estimated)::text AS estimated
         FROM ledger_daily
        WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR tenant = $3)
        GROUP BY day, tenant, provider, model
        ORDER BY day, tenant, provider, model`,
      [from, to, tenant ?? null],
    );
    return rows.map((row) => ({
      day: row["day"]!,
      tenant: row["tenant"]!,
      provider: row["provider"]!,
      model: row["model"]!,
      requests: Number(row["requests"]),
      cacheHits: Number(row["cache_hits"]),
      inputTokens: Number(row["input_tokens"]),
      outputTokens: Number(row["output_tokens"]),
      costPico: usdStringToPico(row["cost"] ?? "0"),
      estimated: Number(row["estimated"]),
    }));
  }

  /** Pico-dollars the ledger holds for a day (what budgets reseed from). */
  async spentPico(day: string): Promise<bigint> {
    const [row] = await this.db.query<{ cost: string }>(
      "SELECT coalesce(sum(cost_usd), 0)::text AS cost FROM ledger_daily WHERE day = $1",
      [day],
    );
    return usdStringToPico(row?.cost ?? "0");
  }

  /**
   * The ledger's state for `GET /health`: throws (the check reports down)
   * while rows go to the spool or wait in it, since usage and the budget's
   * reseed miss them until they are replayed.
   */
  async health(): Promise<Record<string, unknown>> {
    const state = {
      spooling: this.writer.spooling,
      spoolDepth: this.spool.depth,
      buffered: this.writer.pending,
      deadLettered: this.deadLetters.count,
    };
    if (state.spooling || state.spoolDepth > 0) {
      throw new Error(
        `ledger database unreachable: ${state.spoolDepth} rows spooled, ${state.deadLettered} dead-lettered`,
      );
    }
    return state;
  }

  /** Flushes everything (database or spool) and closes the database: the SIGTERM drain. */
  async close(): Promise<void> {
    const buffered = this.writer.pending;
    await this.writer.close();
    this.journal?.close();
    await this.db.close();
    this.options.logger.info(
      { buffered, spooled: this.spool.depth, spooling: this.writer.spooling },
      "ledger drained",
    );
  }

  private prices(): PriceTable {
    const source = this.options.prices?.();
    if (!this.priceTable || this.priceTable.source !== source) {
      this.priceTable = { source, table: new PriceTable(source) };
    }
    return this.priceTable.table;
  }
}

function nonNegativeInt(value: number): number {
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
