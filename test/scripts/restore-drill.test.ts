// The restore drill against the real Postgres of the machine: dump with the very
// script the PostgresBackup CronJob runs, restore with `npm run restore` into a
// fresh database, and compare the ledger row by row and in sums.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openLedgerDb } from "../../app/ledger/db";
import { insertStatement, type LedgerRow } from "../../app/ledger/row";
import { POSTGRES_APP_ROLE_SQL } from "../../constructs/kubernetes/postgres-app-role";
import { POSTGRES_BACKUP_SCRIPT } from "../../constructs/kubernetes/postgres-backup";
import { restorePlan } from "../../scripts/restore";
import { DATABASE_URL, tempDir, uniqueId, withPostgres } from "../helpers/real-services";

const projectRoot = resolve(__dirname, "../..");

function pgDumpMajor(): number | undefined {
  try {
    return Number(/(\d+)\.\d+/.exec(execFileSync("pg_dump", ["--version"], { encoding: "utf8" }))?.[1]);
  } catch {
    return undefined;
  }
}

/** A URL of the same server, another database (and user: loopback trusts every user on the test server). */
function urlOf(database: string, user?: string): string {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${database}`;
  if (user) url.username = user;
  return url.toString();
}

/** Applies the app-role Job's SQL, as the cluster does, to one database. */
function applyRoleSql(database: string, role: string): Promise<void> {
  return new Promise((done, fail) => {
    execFile(
      "psql",
      ["--no-psqlrc", `--dbname=${urlOf(database)}`, "--file=-"],
      { env: { PATH: process.env["PATH"] ?? "", APP_ROLE: role, APP_PASSWORD: `pw-${role}` } },
      (error, _stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done()),
    ).stdin!.end(POSTGRES_APP_ROLE_SQL);
  });
}

const admin = withPostgres;

/** What must survive a backup: every row, and the sums billing reads. */
interface LedgerFacts {
  readonly rows: number;
  readonly costUsd: string;
  readonly inputTokens: string;
  readonly outputTokens: string;
  /** md5 of every row in request id order: any changed or lost column shows. */
  readonly digest: string;
  /** The same rows as the day partitions hold them (migration 3), and which partitions exist. */
  readonly partitioned: { readonly rows: number; readonly digest: string; readonly partitions: string };
  /** md5 of every `ledger_daily` rollup row: what /v1/usage and the budget reseed read. */
  readonly rollups: { readonly rows: number; readonly digest: string };
}

function ledgerFacts(url: string): Promise<LedgerFacts> {
  return admin(async (client) => {
    const { rows } = await client.query<{
      rows: string;
      cost: string;
      input: string;
      output: string;
      digest: string;
    }>(`SELECT count(*)::text AS rows, coalesce(sum(cost_usd), 0)::text AS cost,
              coalesce(sum(input_tokens), 0)::text AS input, coalesce(sum(output_tokens), 0)::text AS output,
              md5(coalesce(string_agg(t::text, '|' ORDER BY request_id), '')) AS digest
         FROM ledger_requests t`);
    const row = rows[0]!;
    const byDay = await client.query<{ rows: string; digest: string; partitions: string }>(
      `SELECT (SELECT count(*) FROM ledger_requests_by_day)::text AS rows,
              (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY request_id), '')) FROM ledger_requests_by_day t) AS digest,
              (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname = 'ledger_requests_by_day') AS partitions`,
    );
    const daily = await client.query<{ rows: string; digest: string }>(
      `SELECT count(*)::text AS rows,
              md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest
         FROM ledger_daily t`,
    );
    return {
      rows: Number(row.rows),
      costUsd: row.cost,
      inputTokens: row.input,
      outputTokens: row.output,
      digest: row.digest,
      partitioned: {
        rows: Number(byDay.rows[0]!.rows),
        digest: byDay.rows[0]!.digest,
        partitions: byDay.rows[0]!.partitions,
      },
      rollups: { rows: Number(daily.rows[0]!.rows), digest: daily.rows[0]!.digest },
    };
  }, url);
}

/** Runs the CronJob's script with the environment the CronJob gives it. */
function runBackupScript(database: string, dir: string, keep = { count: 14, days: 30 }): Promise<string> {
  const url = new URL(DATABASE_URL);
  return new Promise((done, fail) => {
    execFile(
      "sh",
      ["-c", POSTGRES_BACKUP_SCRIPT],
      {
        env: {
          PATH: process.env["PATH"] ?? "",
          PGHOST: url.hostname,
          PGPORT: url.port || "5432",
          PGUSER: decodeURIComponent(url.username) || "postgres",
          ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}),
          PGDATABASE: database,
          BACKUP_DIR: dir,
          BACKUP_KEEP_COUNT: String(keep.count),
          BACKUP_KEEP_DAYS: String(keep.days),
        },
      },
      (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
    );
  });
}

function restoreCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      join(projectRoot, "node_modules/.bin/tsx"),
      [join(projectRoot, "scripts/restore.ts"), ...args],
      { cwd: projectRoot, env: { PATH: process.env["PATH"] ?? "" } },
      (error, _stdout, stderr) => done({ code: error ? Number(error.code) : 0, stderr }),
    );
  });
}

const rows = (count: number): LedgerRow[] =>
  Array.from({ length: count }, (_, index) => ({
    requestId: `drill-${index}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1 + (index % 5), 12)).toISOString(),
    day: `2026-01-0${1 + (index % 5)}`,
    tenant: index % 3 === 0 ? "tenant-ä" : "default",
    provider: index % 2 === 0 ? "openai" : "claude",
    model: "gpt-4o",
    inputTokens: 100 + index,
    outputTokens: 7 * index,
    // Twelve decimals: a float anywhere on the way would change the sum.
    costUsd: `0.${String(123456789012 + index * 7919).padStart(12, "0")}`,
    latencyMs: 40 + index,
    attempts: 1 + (index % 3),
    fallbackUsed: index % 7 === 0,
    cacheHit: false,
    unpriced: false,
    stream: index % 2 === 1,
    status: 200,
  }));

const major = pgDumpMajor();

describe("restore drill (real Postgres)", () => {
  const id = uniqueId();
  const source = `drill_src_${id}`;
  // As in the cluster: the ledger belongs to the least-privilege app role, in its own schema.
  const role = `drill_app_${id}`;
  const targets: string[] = [];
  const dirs: { cleanup(): void }[] = [];
  let serverMajor = 0;

  beforeAll(async () => {
    // .ci/run installs the client tools; without them this drill cannot run at all.
    if (major === undefined) {
      throw new Error("pg_dump is not installed: apt-get install postgresql-client (.ci/run does)");
    }
    serverMajor = await admin(async (client) => {
      await client.query(`CREATE DATABASE ${source}`);
      const { rows: found } = await client.query<{ v: string }>(
        "SELECT current_setting('server_version_num') AS v",
      );
      return Math.floor(Number(found[0]!.v) / 10000);
    });
    await applyRoleSql(source, role);
    const db = await openLedgerDb({ databaseUrl: urlOf(source, role), dataDir: "unused" });
    try {
      await migrate(db);
      const { sql, params } = insertStatement(rows(250));
      await db.query(sql, params);
    } finally {
      await db.close();
    }
  });

  afterAll(async () => {
    for (const dir of dirs) dir.cleanup();
    await admin(async (client) => {
      for (const database of [source, ...targets]) {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  async function freshDatabase(): Promise<string> {
    const name = `drill_dst_${id}_${targets.length}`;
    targets.push(name);
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    return name;
  }

  it("uses a pg_dump of the server's major version (a newer server refuses older dumps)", () => {
    expect(major).toBe(serverMajor);
  });

  it("dumps with the CronJob's script and restores with npm run restore: every row and every sum identical", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const output = await runBackupScript(source, dir.dir);
    const dumps = readdirSync(dir.dir).filter((file) => file.endsWith(".dump"));
    expect(dumps).toHaveLength(1);
    expect(dumps[0]).toMatch(new RegExp(`^${source}-\\d{8}T\\d{6}Z\\.dump$`));
    expect(output).toContain(`backup ${join(dir.dir, dumps[0]!)}:`);
    // The freshness the alert reads, written only after a good dump.
    const lastSuccess = Number(readFileSync(join(dir.dir, "last-success"), "utf8"));
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(600);

    const target = await freshDatabase();
    const restored = await restoreCli([
      "--env",
      "production",
      "--from",
      join(dir.dir, dumps[0]!),
      "--database-url",
      urlOf(target),
      "--yes",
    ]);
    expect(restored.stderr).toContain("restore: done");
    expect(restored.code).toBe(0);

    const before = await ledgerFacts(urlOf(source, role));
    const after = await ledgerFacts(urlOf(target, role));
    expect(before.rows).toBe(250);
    // Partitions and rollups come back too (issue 18): the trigger copied every row into its day's
    // partition and the rollups hold one row per day, tenant, provider and model.
    expect(before.partitioned.rows).toBe(250);
    expect(before.rollups.rows).toBeGreaterThan(0);
    expect(after).toEqual(before);
    // The migrations' own record survives too, so the gateway does not re-run them.
    const versions = await admin(
      async (client) => (await client.query("SELECT version FROM ledger_migrations ORDER BY version")).rows,
      urlOf(target, role),
    );
    expect(versions.length).toBeGreaterThan(0);
    // Restored as the superuser with owners kept: the app role owns its schema again and can write.
    const owners = await admin(
      async (client) =>
        (
          await client.query(
            "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'ledger_requests'",
          )
        ).rows,
      urlOf(target),
    );
    expect(owners).toEqual([{ schemaname: role, tableowner: role }]);
    await admin(
      async (client) => {
        const { sql, params } = insertStatement([{ ...rows(1)[0]!, requestId: "after-restore" }]);
        await client.query(sql, params);
      },
      urlOf(target, role),
    );
  });

  it("notices a lost row: the comparison the drill relies on fails when one row is missing", async () => {
    const dir = tempDir();
    dirs.push(dir);
    await runBackupScript(source, dir.dir);
    const dump = readdirSync(dir.dir).find((file) => file.endsWith(".dump"))!;
    const target = await freshDatabase();
    const { code } = await restoreCli([
      "--env",
      "staging",
      "--from",
      join(dir.dir, dump),
      "--database-url",
      urlOf(target),
      "--yes",
    ]);
    expect(code).toBe(0);
    await admin(
      (client) => client.query("DELETE FROM ledger_requests WHERE request_id = 'drill-17'"),
      urlOf(target, role),
    );
    const before = await ledgerFacts(urlOf(source, role));
    const after = await ledgerFacts(urlOf(target, role));
    expect(after.rows).toBe(before.rows - 1);
    expect(after).not.toEqual(before);
  });

  it("keeps the newest dumps by count and drops those older than the age limit", async () => {
    const dir = tempDir();
    dirs.push(dir);
    // Three older dumps, one of them 40 days old.
    const old = [
      `${source}-20250101T000000Z.dump`,
      `${source}-20250102T000000Z.dump`,
      `${source}-20250103T000000Z.dump`,
    ];
    old.forEach((file, index) => {
      writeFileSync(join(dir.dir, file), "old");
      const seconds = Date.now() / 1000 - (index === 0 ? 40 : 3 - index) * 86_400;
      utimesSync(join(dir.dir, file), seconds, seconds);
    });
    await runBackupScript(source, dir.dir, { count: 2, days: 30 });
    const kept = readdirSync(dir.dir)
      .filter((file) => file.endsWith(".dump"))
      .sort();
    expect(kept).toHaveLength(2);
    expect(kept).toContain(old[2]);
    expect(kept.some((file) => !old.includes(file))).toBe(true);
  });

  it("leaves no dump and no last-success when pg_dump fails", async () => {
    const dir = tempDir();
    dirs.push(dir);
    await expect(runBackupScript(`drill_missing_${id}`, dir.dir)).rejects.toThrow(/does not exist/);
    expect(readdirSync(dir.dir).filter((file) => file.endsWith(".dump"))).toEqual([]);
    expect(existsSync(join(dir.dir, "last-success"))).toBe(false);
  });

  it("fails without --yes, and for a missing dump file, changing nothing", async () => {
    const refused = await restoreCli([
      "--env",
      "staging",
      "--from",
      __filename,
      "--database-url",
      urlOf(source),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("add --yes to go ahead");
    const missing = await restoreCli(["--env", "staging", "--from", "/nonexistent.dump", "--yes"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--from /nonexistent.dump: no such file");
  });

  it("restores in the cluster through kubectl exec, the password never on the command line", () => {
    const plan = restorePlan({ environment: "production" });
    expect(plan.display).toBe(
      "kubectl -n ai-production exec -i ai-postgres-0 -c postgres -- pg_restore --clean --if-exists --exit-on-error --single-transaction --username=postgres --dbname=ai_gateway",
    );
    const direct = restorePlan({
      environment: "staging",
      databaseUrl: "postgres://app:s3cret@db:5432/ledger",
    });
    expect(direct.args.join(" ")).not.toContain("s3cret");
    expect(direct.display).not.toContain("s3cret");
    expect(direct.env).toEqual({ PGPASSWORD: "s3cret" });
  });
});
