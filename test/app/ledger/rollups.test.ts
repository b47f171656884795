import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, migrate, openLedgerDb } from "../../../app/ledger/db";
import { insertStatement } from "../../../app/ledger/row";
import { verifyDay } from "../../../app/ledger/verify";
import { ledgerRow } from "../../helpers/events";
import { DATABASE_URL, pgSchema } from "../../helpers/real-services";

const ROOT = join(__dirname, "../../..");
const WRITER = join(ROOT, "test/fixtures/ledger/rollup-writer.ts");
const DAY = "2026-12-01";

function writer(schema: string, name: string, batches: number): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", WRITER, schema, name, String(batches)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

async function counts(db: LedgerDb) {
  const [row] = await db.query<{ raw: number; legacy: number; rolled: number }>(
    `SELECT (SELECT count(*)::int FROM ledger_requests_by_day WHERE day = $1) AS raw,
            (SELECT count(*)::int FROM ledger_requests WHERE day = $1) AS legacy,
            (SELECT coalesce(sum(requests), 0)::int FROM ledger_daily WHERE day = $1) AS rolled`,
    [DAY],
  );
  return row!;
}

describe("ledger rollups on Postgres", () => {
  const { schema, cleanup } = pgSchema();
  let db: LedgerDb;
  beforeAll(async () => {
    db = await openLedgerDb({ databaseUrl: DATABASE_URL, dataDir: ".", schema });
    await migrate(db, { schema });
  });
  afterAll(async () => {
    await db?.close();
    await cleanup();
  });

  it("agree with the raw rows after two writer processes race on the same rows and rollup keys", async () => {
    const first = writer(schema, "one", 30);
    const second = writer(schema, "two", 30);
    const [[firstCode], [secondCode]] = await Promise.all([once(first, "exit"), once(second, "exit")]);
    expect([firstCode, secondCode]).toEqual([0, 0]);
    // 30 batches × (100 shared + 100 own) per writer; the shared ids are counted once.
    expect(await counts(db)).toEqual({ raw: 9_000, legacy: 9_000, rolled: 9_000 });
    const report = await verifyDay(db, DAY);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("agree with the raw rows after a writer process is SIGKILLed mid-write", async () => {
    const before = await counts(db);
    const child = writer(schema, "killed", 0);
    let printed = "";
    await new Promise<void>((resolve) => {
      child.stdout!.on("data", (chunk) => {
        printed += chunk;
        // Killed while it is inserting back to back, a few batches in.
        if ((printed.match(/batch/g) ?? []).length >= 3) resolve();
      });
    });
    child.kill("SIGKILL");
    await once(child, "exit");
    const after = await counts(db);
    expect(after.raw).toBeGreaterThan(before.raw);
    expect(after.rolled).toBe(after.raw);
    expect(after.legacy).toBe(after.raw);
    expect((await verifyDay(db, DAY)).differences).toEqual([]);
  });

  it("agree with the raw rows when the writer's connection dies between its insert and its commit", async () => {
    const before = await counts(db);
    const client = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
    await client.connect();
    client.on("error", () => {});
    const [{ pid }] = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows as [
      { pid: number },
    ];
    await client.query("BEGIN");
    const { sql, params } = insertStatement(
      Array.from({ length: 50 }, (_, index) => ledgerRow({ requestId: `doomed-${index}`, day: DAY })),
    );
    await client.query(sql, params);
    // Inside the open transaction the rows and their rollups are both there…
    const [inside] = (
      await client.query<{ raw: number; rolled: number }>(
        `SELECT (SELECT count(*)::int FROM ledger_requests_by_day WHERE day = $1) AS raw,
                (SELECT sum(requests)::int FROM ledger_daily WHERE day = $1) AS rolled`,
        [DAY],
      )
    ).rows;
    expect(inside).toEqual({ raw: before.raw + 50, rolled: before.rolled + 50 });
    // …and the failpoint: the backend dies before COMMIT.
    await db.query("SELECT pg_terminate_backend($1)", [pid]);
    await client.end().catch(() => {});
    expect(await counts(db)).toEqual(before);
    expect((await verifyDay(db, DAY)).ok).toBe(true);
  });

  it("npm run ledger:verify exits 0 when rollups agree and 1 naming the key when they differ", async () => {
    const agree = await runScript(["scripts/ledger-verify.ts", "--day", DAY, "--schema", schema]);
    expect(agree.stderr).toContain(`ledger ${DAY}: rollups agree with`);
    expect(agree.code).toBe(0);

    await db.query(
      "UPDATE ledger_daily SET requests = requests + 1 WHERE day = $1 AND tenant = 'tenant-0' AND provider = 'openai' AND model = 'model-0' AND kind = 'chat'",
      [DAY],
    );
    const differ = await runScript(["scripts/ledger-verify.ts", "--day", DAY, "--schema", schema]);
    expect(differ.code).toBe(1);
    const report = JSON.parse(differ.stdout) as { differences: Array<Record<string, unknown>> };
    expect(report.differences).toHaveLength(1);
    expect(report.differences[0]).toMatchObject({
      tenant: "tenant-0",
      provider: "openai",
      model: "model-0",
      kind: "chat",
    });
    expect(differ.stderr).toContain("1 rollup key(s) differ from the raw rows");

    const bad = await runScript(["scripts/ledger-verify.ts", "--day", "2026-02-30"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("usage: npm run ledger:verify -- --day YYYY-MM-DD");
  });
});
