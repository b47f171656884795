// The least-privilege role: synthesized wiring, and the role SQL applied to the real Postgres.
import { execFile } from "node:child_process";
import { Testing } from "cdktf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openLedgerDb } from "../../app/ledger/db";
import { PgvectorDatabase } from "../../constructs/kubernetes/pgvector-database";
import { POSTGRES_APP_ROLE_SQL } from "../../constructs/kubernetes/postgres-app-role";
import { ENVIRONMENTS } from "../../stacks/environments";
import { EnvironmentStack } from "../../stacks/main";
import { DATABASE_URL, uniqueId, withPostgres } from "../helpers/real-services";
import { type Body, container, named, podSpec, type Synthesized, synth } from "../helpers/synth";

describe("PgvectorDatabase with adminUsername (synth)", () => {
  const { json } = synth((scope) => {
    new PgvectorDatabase(scope, "Database", { namespace: "ai", adminUsername: "postgres" });
  });

  it("initializes the server with the superuser and its own Secret", () => {
    const env = container(named(json, "kubernetes_stateful_set_v1", "ai-postgres"))["env"] as Body[];
    expect(env).toContainEqual({ name: "POSTGRES_USER", value: "postgres" });
    expect(env).toContainEqual({
      name: "POSTGRES_PASSWORD",
      value_from: { secret_key_ref: { name: "ai-postgres-admin-auth", key: "password" } },
    });
  });

  it("creates the app role with a Job that alone holds both passwords", () => {
    const job = named(json, "kubernetes_job_v1", "ai-postgres-app-role");
    const env = container(job)["env"] as Body[];
    expect(env).toContainEqual({ name: "PGUSER", value: "postgres" });
    expect(env).toContainEqual({
      name: "PGPASSWORD",
      value_from: { secret_key_ref: { name: "ai-postgres-admin-auth", key: "password" } },
    });
    expect(env).toContainEqual({ name: "APP_ROLE", value: "ai_gateway" });
    expect(env).toContainEqual({
      name: "APP_PASSWORD",
      value_from: { secret_key_ref: { name: "ai-postgres-auth", key: "password" } },
    });
    expect(((podSpec(job)["container"] as Body[])[0]!["command"] as string[]).join(" ")).not.toMatch(
      /PASSWORD/,
    );
  });

  it("fails when adminUsername is the clients' role", () => {
    expect(() =>
      synth((scope) => {
        new PgvectorDatabase(scope, "Database", { adminUsername: "ai_gateway" });
      }),
    ).toThrow(
      'PgvectorDatabase: adminUsername ("ai_gateway") must differ from username; the clients\' role must not be the superuser',
    );
  });

  it.each(["staging", "production"] as const)("never gives %s's gateway the superuser's Secret", (name) => {
    const stack = new EnvironmentStack(Testing.app(), name, { environment: ENVIRONMENTS[name] });
    const text = Testing.synth(stack);
    const parsed = JSON.parse(text) as Synthesized;
    const deployments = Object.values(parsed.resource?.["kubernetes_deployment_v1"] ?? {});
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      expect(JSON.stringify(deployment)).not.toContain("ai-postgres-admin-auth");
      expect(container(deployment)["env"]).toContainEqual({
        name: "PGPASSWORD",
        value_from: { secret_key_ref: { name: "ai-postgres-auth", key: "password" } },
      });
    }
    // Only the server and the role Job read it.
    const readers = Object.entries(parsed.resource ?? {}).flatMap(([type, byName]) =>
      Object.values(byName)
        .filter((body) => /"secret_key_ref":\{[^}]*"ai-postgres-admin-auth"/.test(JSON.stringify(body)))
        .map(() => type),
    );
    expect(readers.sort()).toEqual(["kubernetes_job_v1", "kubernetes_stateful_set_v1"]);
  });
});

describe("the app role on the real Postgres", () => {
  const id = uniqueId();
  const database = `role_${id}`;
  const role = `app_${id}`;
  const password = `pw-${id}-Ab9`;
  const url = (user?: string, pass?: string) => {
    const parsed = new URL(DATABASE_URL);
    parsed.pathname = `/${database}`;
    if (user) {
      parsed.username = user;
      parsed.password = pass ?? "";
    }
    return parsed.toString();
  };
  const admin = withPostgres;
  const applyRoleSql = () =>
    new Promise<void>((done, fail) => {
      execFile(
        "psql",
        ["--no-psqlrc", `--dbname=${url()}`, "--file=-"],
        { env: { PATH: process.env["PATH"] ?? "", APP_ROLE: role, APP_PASSWORD: password } },
        (error, _stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done()),
      ).stdin!.end(POSTGRES_APP_ROLE_SQL);
    });

  beforeAll(async () => {
    await admin((client) => client.query(`CREATE DATABASE ${database}`));
    // Twice: the Job runs it again on every revision.
    await applyRoleSql();
    await applyRoleSql();
  });
  afterAll(async () => {
    await admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  it("is a plain login role: no superuser, no CREATEDB, no CREATEROLE", async () => {
    const attributes = await admin(
      async (client) =>
        (
          await client.query(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1",
            [role],
          )
        ).rows[0],
    );
    expect(attributes).toEqual({
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolcanlogin: true,
    });
  });

  it("runs the ledger migrations into the schema it owns, and cannot create roles, databases or public tables", async () => {
    // Loopback trusts every user on the test server, so log in by name; the password is set for the cluster.
    const appUrl = url(role);
    const db = await openLedgerDb({ databaseUrl: appUrl, dataDir: "unused" });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    const where = await admin(
      async (client) =>
        (
          await client.query(
            "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'ledger_requests'",
          )
        ).rows,
      url(),
    );
    expect(where).toEqual([{ schemaname: role, tableowner: role }]);
    await admin(async (client) => {
      await expect(client.query(`CREATE ROLE x_${id}`)).rejects.toThrow(/permission denied/);
      await expect(client.query(`CREATE DATABASE x_${id}`)).rejects.toThrow(/permission denied/);
      await expect(client.query("CREATE TABLE public.sneaky (id int)")).rejects.toThrow(/permission denied/);
      await expect(client.query("CREATE SCHEMA other")).rejects.toThrow(/permission denied/);
    }, appUrl);
  });
});
