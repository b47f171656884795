import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { type LedgerRow, ledgerRowSchema } from "./row";

/** Options of {@link Spool}. */
export interface SpoolOptions {
  /** Directory of the spool files; one gateway process per directory. */
  readonly dir: string;
  readonly logger: Logger;
}

const ACTIVE = "spool.jsonl";
const REPLAY_PREFIX = "replay-";

/**
 * An append-only local file of ledger rows that could not reach the database.
 * Replay renames the active file aside first, so rows spooled during a replay
 * land in a fresh file and nothing is read while it is being written.
 */
export class Spool {
  private lock: Promise<unknown> = Promise.resolve();
  private ready: Promise<void> | undefined;
  /** Rows waiting in spool files (counted at start, then kept up to date). */
  depth = 0;

  constructor(private readonly options: SpoolOptions) {}

  /** The spool directory. */
  get dir(): string {
    return this.options.dir;
  }

  /** Creates the directory and counts rows left by a previous run. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(this.options.dir, { recursive: true });
      for (const file of await this.files()) {
        const text = await readFile(join(this.options.dir, file), "utf8");
        this.depth += text.split("\n").filter((line) => line.trim() !== "").length;
      }
    })();
    return this.ready;
  }

  /** Appends rows, one JSON line each. */
  append(rows: readonly LedgerRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.exclusive(async () => {
      await this.init();
      await appendFile(
        join(this.options.dir, ACTIVE),
        rows.map((row) => `${JSON.stringify(row)}\n`).join(""),
      );
      this.depth += rows.length;
    });
  }

  /**
   * Sends every spooled row to `insert` in batches and deletes each file once
   * all its rows are in. A line that is not a valid row is skipped with a log
   * line. If `insert` fails the file stays for the next attempt (inserts are
   * idempotent, so rows already in are not counted twice).
   */
  async replay(
    insert: (rows: LedgerRow[]) => Promise<void>,
    batchSize: number,
  ): Promise<{ replayed: number; skipped: number }> {
    await this.init();
    await this.exclusive(async () => {
      try {
        await rename(
          join(this.options.dir, ACTIVE),
          join(this.options.dir, `${REPLAY_PREFIX}${Date.now()}-${randomBytes(4).toString("hex")}.jsonl`),
        );
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    });
    let replayed = 0;
    let skipped = 0;
    for (const file of (await this.files()).filter((name) => name.startsWith(REPLAY_PREFIX)).sort()) {
      const path = join(this.options.dir, file);
      const lines = (await readFile(path, "utf8")).split("\n");
      const rows: LedgerRow[] = [];
      lines.forEach((line, index) => {
        if (line.trim() === "") return;
        const row = parseRow(line);
        if (row) rows.push(row);
        else {
          skipped++;
          this.options.logger.error(
            { file, line: index + 1, length: line.length },
            "corrupt ledger spool line skipped",
          );
        }
      });
      for (let start = 0; start < rows.length; start += batchSize) {
        await insert(rows.slice(start, start + batchSize));
      }
      await unlink(path);
      this.depth = Math.max(0, this.depth - rows.length - skippedIn(lines, rows.length));
      replayed += rows.length;
    }
    return { replayed, skipped };
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.options.dir)).filter((name) => name.endsWith(".jsonl"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => {});
    return run;
  }
}

function skippedIn(lines: readonly string[], valid: number): number {
  return lines.filter((line) => line.trim() !== "").length - valid;
}

/** One JSON line as a ledger row; undefined when it is not valid JSON or not a valid row. */
export function parseRow(line: string): LedgerRow | undefined {
  try {
    const result = ledgerRowSchema.safeParse(JSON.parse(line));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
