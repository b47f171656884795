import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { LedgerRow } from "./row";
import { parseRow } from "./spool";

/** Options of {@link Journal}. */
export interface JournalOptions {
  /** Directory of the journal segments; one gateway process per directory. */
  readonly dir: string;
  readonly logger: Logger;
  /** How often written rows are fsynced (at most). @default 1000 */
  readonly fsyncIntervalMs?: number;
}

/** One journal file: the rows buffered between two flushes. */
export interface JournalSegment {
  readonly path: string;
  readonly fd: number;
}

const SUFFIX = ".journal";

/**
 * The write-ahead journal of rows not yet in the database or the spool. Each
 * row is appended with a synchronous write() before the batcher takes it, so
 * a killed process (SIGKILL, OOM) loses nothing: the kernel holds the bytes
 * and the next start replays them. fsync (which a power loss needs) runs at
 * most once per interval. A flush rotates to a fresh segment and retires the
 * old one once its rows are stored; replays are idempotent (the ledger's keys).
 */
export class Journal {
  private current: JournalSegment | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private broken = false;
  private closed = false;

  constructor(private readonly options: JournalOptions) {}

  /** Rows left by a previous process (its segments), and removes nothing yet. */
  recover(): { rows: LedgerRow[]; segments: string[] } {
    mkdirSync(this.options.dir, { recursive: true });
    const segments = readdirSync(this.options.dir)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => join(this.options.dir, name));
    const rows: LedgerRow[] = [];
    for (const path of segments) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        const row = parseRow(line);
        // A torn last line (killed mid-write) is the only expected bad line.
        if (row) rows.push(row);
        else this.options.logger.warn({ file: path }, "unreadable ledger journal line skipped");
      }
    }
    return { rows, segments };
  }

  /** Deletes recovered segments once their rows are safe elsewhere (the spool). */
  discard(segments: readonly string[]): void {
    for (const path of segments) unlinkSync(path);
  }

  /** Opens the first segment and starts the fsync timer. */
  start(): void {
    this.current = this.open();
    const fsyncEvery = this.options.fsyncIntervalMs ?? 1_000;
    this.timer = setInterval(() => this.sync(), fsyncEvery);
    this.timer.unref();
  }

  /** Appends one row with a synchronous write(); a disk failure is logged once and the row stays buffered. */
  append(row: LedgerRow): void {
    if (this.closed) return;
    // After a failed rotation, try again: the directory may be back.
    this.current ??= this.open();
    if (!this.current) return;
    try {
      writeSync(this.current.fd, `${JSON.stringify(row)}\n`);
      this.dirty = true;
    } catch (error) {
      this.failed(error);
    }
  }

  /** Starts a new segment and hands back the one holding every row appended so far. */
  rotate(): JournalSegment | undefined {
    if (this.closed) return undefined;
    const full = this.current;
    this.current = this.open();
    return full;
  }

  /** Closes and deletes a segment whose rows are stored. */
  retire(segment: JournalSegment): void {
    try {
      closeSync(segment.fd);
      unlinkSync(segment.path);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Stops the timer and removes the current segment (call once every row is stored). */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.current) this.retire(this.current);
    this.current = undefined;
  }

  // Undefined when the directory cannot be written: rows are still written to
  // the database (the journal never stops the ledger), only not crash-safe.
  private open(): JournalSegment | undefined {
    const path = join(
      this.options.dir,
      `${Date.now()}-${process.pid}-${randomBytes(4).toString("hex")}${SUFFIX}`,
    );
    try {
      return { path, fd: openSync(path, "a") };
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }

  private failed(error: unknown): void {
    if (this.broken) return;
    this.broken = true;
    this.options.logger.error(
      { err: { message: (error as Error).message } },
      "ledger journal unavailable; buffered rows are not crash-safe until it recovers",
    );
  }

  private sync(): void {
    if (!this.dirty || !this.current) return;
    this.dirty = false;
    fsync(this.current.fd, () => {});
  }
}
