import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { LedgerRow } from "./row";

/** Why Postgres refused a row: its SQLSTATE and message. */
export interface RejectReason {
  readonly code: string;
  readonly message: string;
}

/**
 * True when Postgres refused the data itself (SQLSTATE class 22 data
 * exception, 23 integrity violation): retrying the same rows can never work,
 * unlike a connection failure, a timeout or a missing table, which can.
 */
export function dataRejection(error: unknown): RejectReason | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^2[23][0-9A-Z]{3}$/.test(code)) return undefined;
  return { code, message: String((error as Error).message ?? "").slice(0, 300) };
}

/** The SQLSTATE class of a rejection, the only part of it an alert may carry. */
export function rejectionClass(reason: RejectReason): "data_exception" | "integrity_violation" {
  return reason.code.startsWith("22") ? "data_exception" : "integrity_violation";
}

/**
 * The ledger's dead-letter file: rows Postgres refused for their data, one
 * JSON line each with the reason, kept for an operator to fix and re-insert
 * (docs/runbooks.md "Ledger dead letters").
 */
export class DeadLetters {
  /** Rows dead-lettered by this process. */
  count = 0;

  constructor(readonly path: string) {}

  /** Appends one refused row with its reason. */
  async add(row: LedgerRow, reason: RejectReason, at: Date): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify({ at: at.toISOString(), reason, row })}\n`);
    this.count++;
  }
}
