import type { LedgerDb } from "./db";

/** The day-partitioned copy of the ledger's rows (migration 3; docs/design.md section 5). */
export const PARTITIONED_TABLE = "ledger_requests_by_day";
/** Where rows land whose day has no partition yet (moved out when the partition is created). */
export const DEFAULT_PARTITION = `${PARTITIONED_TABLE}_default`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MS_PER_DAY = 86_400_000;

/** The partition holding one UTC day (`YYYY-MM-DD`): `ledger_requests_by_day_YYYYMMDD`. */
export function partitionName(day: string): string {
  if (!DAY.test(day)) throw new Error(`ledger day "${day}" must be written YYYY-MM-DD`);
  return `${PARTITIONED_TABLE}_${day.replaceAll("-", "")}`;
}

/** The UTC day `offset` days after `day`. */
export function addDays(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * MS_PER_DAY).toISOString().slice(0, 10);
}

/** The days with a partition of their own, oldest first. */
export async function partitionDays(db: Pick<LedgerDb, "query">): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.oid = to_regclass($1)`,
    [PARTITIONED_TABLE],
  );
  return rows
    .map((row) => /_(\d{4})(\d{2})(\d{2})$/.exec(row.name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[1]}-${match[2]}-${match[3]}`)
    .sort();
}

/**
 * Creates the partition of each day that lacks one. Rows of that day already
 * in the default partition (a replayed spool from before the partition
 * existed) move into it in the same transaction, so none is lost and none is
 * added to the rollups twice. Run it under the maintenance lock (two replicas
 * creating one table race).
 */
export async function ensurePartitions(
  db: Pick<LedgerDb, "query" | "exec">,
  days: readonly string[],
): Promise<string[]> {
  const existing = new Set(await partitionDays(db));
  const created: string[] = [];
  for (const day of days) {
    if (existing.has(day)) continue;
    const name = partitionName(day);
    // The literals are checked YYYY-MM-DD days, so they are safe to inline (exec takes no parameters).
    try {
      await db.exec(`BEGIN;
        CREATE TABLE ${name} (LIKE ${PARTITIONED_TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
        WITH moved AS (DELETE FROM ${DEFAULT_PARTITION} WHERE day = '${day}' RETURNING *)
          INSERT INTO ${name} SELECT * FROM moved;
        ALTER TABLE ${PARTITIONED_TABLE} ATTACH PARTITION ${name} FOR VALUES FROM ('${day}') TO ('${addDays(day, 1)}');
        COMMIT;`);
    } catch (error) {
      await db.exec("ROLLBACK").catch(() => {});
      throw error;
    }
    created.push(day);
  }
  return created;
}
