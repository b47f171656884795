import type { Logger } from "pino";
import type { AlertSink } from "../observability/alerts";
import { METRIC } from "../observability/metric-names";
import { type MetricsSink, noopMetrics } from "../observability/metrics-sink";
import type { LedgerDb } from "./db";
import { type DeadLetters, dataRejection, rejectionClass } from "./dead-letters";
import type { Journal } from "./journal";
import { insertStatement, type LedgerRow } from "./row";
import type { Spool } from "./spool";

/** Options of {@link LedgerWriter}. */
export interface LedgerWriterOptions {
  readonly db: LedgerDb;
  readonly spool: Spool;
  /** Where rows Postgres refuses for their data go, so they never block the rest. */
  readonly deadLetters: DeadLetters;
  /** Where each row is written before it is buffered, so a killed process loses none. */
  readonly journal?: Journal;
  readonly logger: Logger;
  readonly metrics?: MetricsSink;
  /** Raises the dead-letter alert (the gateway's `ALERT_WEBHOOK_URL` sink): once per file per process start. */
  readonly alert?: AlertSink;
  /** Rows per INSERT. @default 200 */
  readonly batchSize?: number;
  /** How often buffered rows are written. @default 250 */
  readonly flushIntervalMs?: number;
  /** How often the spool is retried while it holds rows. @default 5000 */
  readonly replayIntervalMs?: number;
  /** Runs before each replay (the ledger runs pending migrations there); a throw counts as the database down. */
  readonly prepare?: () => Promise<void>;
}

/**
 * Writes ledger rows in batches off the request path. `write` only buffers; a
 * timer flushes. When the database fails, the batch goes to the spool and the
 * writer keeps spooling until a replay succeeds, so a dead database costs one
 * failed connection per replay interval, not one per request.
 */
export class LedgerWriter {
  private buffer: LedgerRow[] = [];
  private chain: Promise<void> = Promise.resolve();
  private databaseDown = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private deadLetterAlerted = false;
  private readonly metrics: MetricsSink;
  private readonly batchSize: number;

  constructor(private readonly options: LedgerWriterOptions) {
    this.metrics = options.metrics ?? noopMetrics;
    this.batchSize = options.batchSize ?? 200;
  }

  /** Starts the flush and replay timers (unref'd: they never keep the process alive). */
  start(): void {
    const flush = setInterval(() => {
      if (this.buffer.length > 0) void this.flush();
    }, this.options.flushIntervalMs ?? 250);
    const replay = setInterval(() => {
      if (this.databaseDown || this.options.spool.depth > 0) void this.replay();
    }, this.options.replayIntervalMs ?? 5_000);
    flush.unref();
    replay.unref();
    this.timers.push(flush, replay);
  }

  /** Journals one row (a synchronous write()) and buffers it; never throws. */
  write(row: LedgerRow): void {
    this.options.journal?.append(row);
    this.buffer.push(row);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  /** Rows buffered and not yet handed to the database or spool. */
  get pending(): number {
    return this.buffer.length;
  }

  /** True while writes go to the spool because the database failed. */
  get spooling(): boolean {
    return this.databaseDown;
  }

  /** Writes everything buffered now (to the database, or the spool if it fails). */
  flush(): Promise<void> {
    return this.serial(() => this.flushNow());
  }

  /** Replays the spool into the database; resolves with what was replayed. */
  replay(): Promise<void> {
    return this.serial(async () => {
      try {
        await this.options.prepare?.();
        const result = await this.options.spool.replay(async (rows) => {
          await this.insert(rows);
        }, this.batchSize);
        if (this.databaseDown) this.options.logger.info("ledger database reachable again; spool replayed");
        this.databaseDown = false;
        if (result.replayed > 0) {
          this.metrics.inc(METRIC.ledgerRows, { outcome: "replayed" }, result.replayed);
          this.options.logger.info(result, "ledger spool replayed");
        }
      } catch (error) {
        this.markDown(error);
      } finally {
        this.metrics.set(METRIC.ledgerSpoolDepth, this.options.spool.depth);
      }
    });
  }

  /** Stops the timers, writes everything buffered and tries the spool once more. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    if (this.options.spool.depth > 0) await this.replay();
  }

  private async flushNow(): Promise<void> {
    // Every buffered row, and the journal segment holding exactly them: it is
    // deleted once they are all in the database or the spool.
    const rows = this.buffer;
    this.buffer = [];
    const segment = this.options.journal?.rotate();
    let lost = false;
    for (let start = 0; start < rows.length; start += this.batchSize) {
      const batch = rows.slice(start, start + this.batchSize);
      if (!this.databaseDown) {
        try {
          const written = await this.insert(batch);
          this.metrics.inc(METRIC.ledgerRows, { outcome: "written" }, written);
          continue;
        } catch (error) {
          this.markDown(error);
        }
      }
      try {
        await this.options.spool.append(batch);
        this.metrics.inc(METRIC.ledgerRows, { outcome: "spooled" }, batch.length);
        this.metrics.set(METRIC.ledgerSpoolDepth, this.options.spool.depth);
      } catch (error) {
        // Disk full or read-only: nothing more can be done locally; say so loudly.
        this.metrics.inc(METRIC.ledgerRows, { outcome: "failed" }, batch.length);
        lost = true;
        this.options.logger.error(
          { err: { message: (error as Error).message }, rows: batch.length },
          "ledger rows not stored: database and spool both failed; kept in the journal for the next start",
        );
      }
    }
    if (segment && !lost) this.options.journal?.retire(segment);
  }

  /**
   * Inserts rows; returns how many went in. A batch Postgres refuses for its
   * data is split in halves until the bad rows are alone, and those go to the
   * dead-letter file (one metric and log line each), so every other row lands.
   * Any other failure (connection, timeout, schema) is thrown: the caller spools.
   */
  private async insert(rows: readonly LedgerRow[]): Promise<number> {
    try {
      const { sql, params } = insertStatement(rows);
      await this.options.db.query(sql, params);
      return rows.length;
    } catch (error) {
      const rejection = dataRejection(error);
      this.metrics.inc(METRIC.ledgerWriteErrors, { kind: rejection ? "data" : "connection" });
      if (!rejection) throw error;
      if (rows.length > 1) {
        const half = Math.ceil(rows.length / 2);
        return (await this.insert(rows.slice(0, half))) + (await this.insert(rows.slice(half)));
      }
      const row = rows[0]!;
      await this.options.deadLetters.add(row, rejection, new Date());
      this.metrics.inc(METRIC.ledgerDeadLetters);
      this.options.logger.error(
        {
          alert: "ledger_dead_letter",
          reason: rejection,
          ledgerId: row.requestId,
          file: this.options.deadLetters.path,
        },
        "ledger row refused by the database for its data; moved to the dead-letter file",
      );
      this.alertDeadLetter(rejectionClass(rejection));
      return 0;
    }
  }

  // One alert per dead-letter file per process start (the metric and log line count every row);
  // it carries only the count and the SQLSTATE class, never the row or the database's message.
  private alertDeadLetter(reason: string): void {
    if (this.deadLetterAlerted || !this.options.alert) return;
    this.deadLetterAlerted = true;
    const count = this.options.deadLetters.count;
    this.options.alert({
      source: "ledger",
      severity: "critical",
      message: `${count} ledger row(s) refused by the database for their data (${reason}) moved to the dead-letter file; see docs/runbooks.md "Ledger dead letters"`,
      details: { deadLettered: count, reason },
    });
  }

  private markDown(error: unknown): void {
    if (!this.databaseDown) {
      this.options.logger.warn(
        { err: { message: (error as Error).message } },
        "ledger database unavailable; spooling rows to local disk",
      );
    }
    this.databaseDown = true;
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => {});
    return run;
  }
}
