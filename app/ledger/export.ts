import { once } from "node:events";
import { createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { createGzip } from "node:zlib";
import type { LedgerDb } from "./db";
import { PARTITIONED_TABLE } from "./partitions";

/** How an exported day is written: gzip'd JSON Lines (one row per line) or gzip'd CSV with a header. */
export type ExportFormat = "jsonl" | "csv";

/** The columns of an export, in order (the partitioned table's). */
export const EXPORT_COLUMNS = [
  "request_id",
  "occurred_at",
  "day",
  "tenant",
  "provider",
  "model",
  "kind",
  "input_tokens",
  "output_tokens",
  "cost_usd",
  "latency_ms",
  "attempts",
  "fallback_used",
  "cache_hit",
  "unpriced",
  "stream",
  "status",
  "client_request_id",
  "estimated",
] as const;

const PAGE = 5_000;

/** One exported day: where it went and how many rows it holds. */
export interface ExportResult {
  readonly day: string;
  readonly path: string;
  readonly rows: number;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes every raw row of a UTC day, in request_id order, to `out` (gzip'd).
 * Reads in keyset pages so a 10-million-row day never sits in memory; writes
 * to `out.partial` and renames at the end, so a file at `out` is always whole.
 * Run it inside a transaction holding the partition in SHARE mode when the
 * day must not change under it (the retention task does).
 */
export async function exportDay(
  db: Pick<LedgerDb, "query">,
  options: { day: string; out: string; format?: ExportFormat },
): Promise<ExportResult> {
  const format = options.format ?? "jsonl";
  mkdirSync(dirname(options.out), { recursive: true });
  const partial = `${options.out}.partial`;
  const gzip = createGzip();
  const file = createWriteStream(partial);
  const done = new Promise<void>((resolve, reject) => {
    file.on("finish", resolve);
    file.on("error", reject);
    gzip.on("error", reject);
  });
  gzip.pipe(file);
  const write = async (text: string) => {
    if (!gzip.write(text)) await once(gzip, "drain");
  };
  let rows = 0;
  try {
    if (format === "csv") await write(`${EXPORT_COLUMNS.join(",")}\n`);
    let after = "";
    for (;;) {
      const page = await db.query<Record<string, unknown>>(
        // Text casts keep numerics and timestamps exactly as stored.
        `SELECT request_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
                day::text AS day, tenant, provider, model, kind, input_tokens, output_tokens, cost_usd::text AS cost_usd,
                latency_ms, attempts, fallback_used, cache_hit, unpriced, stream, status, client_request_id, estimated
           FROM ${PARTITIONED_TABLE} WHERE day = $1 AND request_id > $2 ORDER BY request_id LIMIT ${PAGE}`,
        [options.day, after],
      );
      if (page.length === 0) break;
      let chunk = "";
      for (const row of page) {
        chunk +=
          format === "csv"
            ? `${EXPORT_COLUMNS.map((column) => csvField(row[column])).join(",")}\n`
            : `${JSON.stringify(row)}\n`;
      }
      await write(chunk);
      rows += page.length;
      after = String(page[page.length - 1]!["request_id"]);
      if (page.length < PAGE) break;
    }
    gzip.end();
    await done;
    renameSync(partial, options.out);
  } catch (error) {
    gzip.destroy();
    file.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
  return { day: options.day, path: options.out, rows };
}
