import { join } from "node:path";
import type { Logger } from "pino";
import type { LedgerDb } from "./db";
import { exportDay } from "./export";
import { addDays, ensurePartitions, PARTITIONED_TABLE, partitionDays, partitionName } from "./partitions";

/** Options of {@link LedgerMaintenance}. */
export interface LedgerMaintenanceOptions {
  readonly db: LedgerDb;
  readonly logger: Logger;
  /** Postgres schema of the tables (offsets the lock key, like the migrations'). @default "public" */
  readonly schema?: string;
  readonly clock?: { now(): number };
  /** Days of raw rows kept before today (`LEDGER_RETENTION_DAYS`). @default 90 */
  readonly retentionDays?: number;
  /** Days of rollups kept before today (`LEDGER_ROLLUP_RETENTION_DAYS`). @default 730 */
  readonly rollupRetentionDays?: number;
  /** Where a day is exported before its partition is dropped (`LEDGER_ARCHIVE_DIR`); unset: never dropped. */
  readonly archiveDir?: string;
  /** Partitions created ahead of today, so a row written just after midnight UTC has one. @default 3 */
  readonly aheadDays?: number;
  /** How often the task runs. @default 3_600_000 (hourly) */
  readonly intervalMs?: number;
}

/** What one run of {@link LedgerMaintenance} did. */
export interface MaintenanceReport {
  readonly created: string[];
  readonly archived: Array<{ day: string; path: string; rows: number }>;
  /** Days past retention kept because no archive location is configured. */
  readonly kept: string[];
  readonly rollupsDeleted: number;
}

/** Advisory lock key of the maintenance task, offset by schema like the migrations'. */
function maintenanceLockKey(schema: string): number {
  let hash = 0x6c64676d;
  for (const char of schema) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
}

/**
 * The ledger's housekeeping (issue 18): creates tomorrow's partitions before
 * midnight UTC, exports each day past `LEDGER_RETENTION_DAYS` and only then
 * drops its partition, and deletes rollups past
 * `LEDGER_ROLLUP_RETENTION_DAYS`. Every replica runs it; an advisory lock
 * makes them take turns, and each step is idempotent, so the second finds
 * nothing to do.
 */
export class LedgerMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly clock: { now(): number };

  constructor(private readonly options: LedgerMaintenanceOptions) {
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  /** Runs now and then every `intervalMs` (unref'd); failures are logged and retried next time. */
  start(): void {
    const tick = () => {
      this.running = this.runOnce().catch((error: unknown) => {
        this.options.logger.warn(
          { err: { message: (error as Error).message } },
          "ledger maintenance failed; retried at the next run",
        );
      });
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One run under the lock. */
  runOnce(): Promise<MaintenanceReport> {
    const schema = this.options.schema ?? "public";
    return this.options.db.withAdvisoryLock(maintenanceLockKey(schema), async (db) => {
      const today = new Date(this.clock.now()).toISOString().slice(0, 10);
      const ahead = this.options.aheadDays ?? 3;
      const wanted = Array.from({ length: ahead + 2 }, (_, index) => addDays(today, index - 1));
      const created = await ensurePartitions(db, wanted);
      if (created.length > 0) this.options.logger.info({ days: created }, "ledger partitions created");

      const oldestKept = addDays(today, -(this.options.retentionDays ?? 90));
      const expired = (await partitionDays(db)).filter((day) => day < oldestKept);
      const archived: MaintenanceReport["archived"] = [];
      const kept: string[] = [];
      for (const day of expired) {
        if (!this.options.archiveDir) {
          kept.push(day);
          continue;
        }
        archived.push(await this.archiveAndDrop(db, day, this.options.archiveDir));
      }
      if (kept.length > 0) {
        this.options.logger.warn(
          { days: kept.length, oldest: kept[0] },
          "ledger partitions past LEDGER_RETENTION_DAYS kept: set LEDGER_ARCHIVE_DIR to export and drop them",
        );
      }

      const oldestRollup = addDays(today, -(this.options.rollupRetentionDays ?? 730));
      const deleted = await db.query<{ n: number }>(
        "WITH gone AS (DELETE FROM ledger_daily WHERE day < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone",
        [oldestRollup],
      );
      return { created, archived, kept, rollupsDeleted: deleted[0]?.n ?? 0 };
    });
  }

  /**
   * Exports a day and drops its partition in one transaction that holds the
   * partition in SHARE mode from before the export, so no row can arrive
   * between the export and the drop; the drop happens only once the file
   * holds exactly the rows the partition held.
   */
  private async archiveAndDrop(
    db: Pick<LedgerDb, "query" | "exec">,
    day: string,
    archiveDir: string,
  ): Promise<{ day: string; path: string; rows: number }> {
    const partition = partitionName(day);
    await db.exec("BEGIN");
    try {
      await db.exec(`LOCK TABLE ${partition} IN SHARE MODE`);
      const [count] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${partition}`);
      const result = await exportDay(db, { day, out: join(archiveDir, `ledger-${day}.jsonl.gz`) });
      if (String(result.rows) !== count?.n) {
        throw new Error(
          `ledger export of ${day} holds ${result.rows} rows, the partition ${count?.n}; not dropped`,
        );
      }
      await db.exec(`DROP TABLE ${partition}`);
      // The unpartitioned mirror (migration 3) keeps the same window.
      await db.query("DELETE FROM ledger_requests WHERE day = $1", [day]);
      await db.exec("COMMIT");
      this.options.logger.info(
        { day, rows: result.rows, path: result.path, table: PARTITIONED_TABLE },
        "ledger partition exported and dropped",
      );
      return { day, path: result.path, rows: result.rows };
    } catch (error) {
      await db.exec("ROLLBACK").catch(() => {});
      throw error;
    }
  }
}
