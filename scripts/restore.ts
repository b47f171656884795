// npm run restore -- --env <environment> --from <dump file | -> [--database-url <url>] [--pod <pod>] [--database <name>] [--user <role>] [--dry-run] --yes
// Restores a PostgresBackup dump (pg_dump custom format) over the environment's
// database: into the in-cluster Postgres through `kubectl exec` (default), or
// into any Postgres given by --database-url (a managed database, a restore drill).
// The restore replaces the dumped objects (--clean) in one transaction: it either
// all lands or nothing changes. Exit 0 done, 1 error.
import { spawn } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { environmentConfig } from "../stacks/environments";

const USAGE =
  "usage: npm run restore -- --env <development|staging|production> --from <dump file | - for stdin> [--database-url <postgres://…>] [--pod <pod>] [--database <name>] [--user <role>] [--dry-run] --yes";

/**
 * pg_restore's options: replace what the dump holds, as one transaction, stop at
 * the first error. Owners are kept: run it as the superuser, so the app role's
 * schema comes back owned by the app role (which may not create schemas itself).
 */
export const PG_RESTORE_OPTIONS = [
  "--clean",
  "--if-exists",
  "--exit-on-error",
  "--single-transaction",
] as const;

/** What to run: the program, its arguments and extra environment (the password, never in argv). */
export interface RestorePlan {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** How the plan is shown to a person: no password. */
  readonly display: string;
}

/** Options of {@link restorePlan}. */
export interface RestorePlanOptions {
  readonly environment: string;
  readonly databaseUrl?: string;
  /** @default "ai-postgres-0" (PgvectorDatabase's default name) */
  readonly pod?: string;
  /** @default "ai_gateway" */
  readonly database?: string;
  /** The superuser (PgvectorDatabase's adminUsername in the kit's stacks). @default "postgres" */
  readonly user?: string;
}

/** Builds the restore command for an environment; throws naming a bad option. */
export function restorePlan(options: RestorePlanOptions): RestorePlan {
  const environment = environmentConfig(options.environment);
  if (options.databaseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.databaseUrl);
    } catch {
      throw new Error("--database-url is not a URL; use postgres://user@host:5432/database");
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      throw new Error(`--database-url must be a postgres:// URL, got ${url.protocol}//…`);
    }
    const password = decodeURIComponent(url.password);
    url.password = "";
    const dbname = url.toString();
    return {
      command: "pg_restore",
      args: [...PG_RESTORE_OPTIONS, `--dbname=${dbname}`],
      env: password ? { PGPASSWORD: password } : {},
      display: `pg_restore ${PG_RESTORE_OPTIONS.join(" ")} --dbname=${dbname}`,
    };
  }
  if (environment.platform !== "kubernetes") {
    throw new Error(
      `${environment.name} runs on Docker: pass --database-url postgres://postgres:<password>@127.0.0.1:5432/ai_gateway`,
    );
  }
  const pod = options.pod ?? "ai-postgres-0";
  const args = [
    "-n",
    environment.namespace,
    "exec",
    "-i",
    pod,
    "-c",
    "postgres",
    "--",
    "pg_restore",
    ...PG_RESTORE_OPTIONS,
    // The pod's own socket: the server trusts local connections, no password travels.
    `--username=${options.user ?? "postgres"}`,
    `--dbname=${options.database ?? "ai_gateway"}`,
  ];
  return { command: "kubectl", args, env: {}, display: `kubectl ${args.join(" ")}` };
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        env: { type: "string" },
        from: { type: "string" },
        "database-url": { type: "string" },
        pod: { type: "string" },
        database: { type: "string" },
        user: { type: "string" },
        "dry-run": { type: "boolean" },
        yes: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  const from = values["from"] as string | undefined;
  if (!values["env"] || !from) {
    console.error(`--env and --from are required\n${USAGE}`);
    return 1;
  }
  if (from !== "-" && !existsSync(from)) {
    console.error(`--from ${from}: no such file; copy the dump here first (docs/operations.md, "Restore")`);
    return 1;
  }
  let plan: RestorePlan;
  try {
    plan = restorePlan({
      environment: values["env"] as string,
      ...(values["database-url"] ? { databaseUrl: values["database-url"] as string } : {}),
      ...(values["pod"] ? { pod: values["pod"] as string } : {}),
      ...(values["database"] ? { database: values["database"] as string } : {}),
      ...(values["user"] ? { user: values["user"] as string } : {}),
    });
  } catch (error) {
    console.error(`restore: ${(error as Error).message}`);
    return 1;
  }
  console.error(`restore: ${plan.display} < ${from}`);
  if (values["dry-run"]) return 0;
  if (!values["yes"]) {
    console.error(
      "restore: this replaces the database's ledger with the dump; add --yes to go ahead (scale the gateway to 0 first, docs/operations.md, Restore)",
    );
    return 1;
  }
  return await new Promise<number>((done) => {
    const child = spawn(plan.command, plan.args, {
      env: { ...process.env, ...plan.env },
      stdio: ["pipe", "inherit", "inherit"],
    });
    const input = from === "-" ? process.stdin : createReadStream(from);
    input.pipe(child.stdin);
    child.on("error", (error) => {
      console.error(`restore: could not run ${plan.command}: ${error.message}`);
      done(1);
    });
    child.on("close", (code) => {
      if (code === 0) console.error("restore: done");
      else
        console.error(
          `restore: ${plan.command} failed (exit ${code}); nothing was changed (one transaction)`,
        );
      done(code === 0 ? 0 : 1);
    });
  });
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
