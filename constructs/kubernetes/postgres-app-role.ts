import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { JobV1 } from "@cdktf/provider-kubernetes/lib/job-v1";
import { Construct } from "constructs";
import {
  componentLabels,
  containerSecurityContext,
  PART_OF,
  podSecurityContext,
  resources,
  scratchVolume,
} from "./_pod";

/**
 * Makes `$APP_ROLE` (password `$APP_PASSWORD`, read from the environment, never
 * from argv) a login role that owns exactly one schema, named after it, and
 * nothing else: no superuser, no CREATEDB, no CREATEROLE, no replication, no
 * creating in `public`. Postgres' default `search_path` (`"$user", public`)
 * puts the ledger's unqualified tables in that schema, so the gateway runs its
 * own migrations as this role. Idempotent: the Job runs it on every new
 * revision, and the test runs it against the real Postgres (psql 15+ for \getenv).
 */
export const POSTGRES_APP_ROLE_SQL = `\\set ON_ERROR_STOP on
\\getenv app_role APP_ROLE
\\getenv app_password APP_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'app_role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \\gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD %L',
  :'app_role', :'app_password') \\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \\gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_role') \\gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'app_role', :'app_role') \\gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'app_role', :'app_role') \\gexec
`;

/** Props of {@link PostgresAppRole}. */
export interface PostgresAppRoleProps {
  readonly namespace: string;
  /** Name prefix of the Job and its ConfigMap (the database's name). */
  readonly name: string;
  /** An image with psql 15 or newer (the database's own). */
  readonly image: string;
  readonly host: string;
  readonly port: number;
  readonly databaseName: string;
  /** The superuser the Job connects as, and its password Secret. */
  readonly adminUsername: string;
  readonly adminSecretName: string;
  /** The role created, and the Secret holding its password. */
  readonly appUsername: string;
  readonly appSecretName: string;
  readonly passwordKey: string;
  /** Labels the database's NetworkPolicy admits. */
  readonly clientPodLabels: Readonly<Record<string, string>>;
}

/** A Job that applies {@link POSTGRES_APP_ROLE_SQL} as the superuser; only it ever holds the superuser password. */
export class PostgresAppRole extends Construct {
  constructor(scope: Construct, id: string, props: PostgresAppRoleProps) {
    super(scope, id);
    const name = `${props.name}-app-role`;
    const labels = componentLabels(name, "postgres-app-role");
    const sql = new ConfigMapV1(this, "Script", {
      metadata: { name, namespace: props.namespace, labels: { ...PART_OF } },
      data: { "app-role.sql": POSTGRES_APP_ROLE_SQL },
    });
    const secretEnv = (envName: string, secretName: string) => ({
      name: envName,
      valueFrom: { secretKeyRef: { name: secretName, key: props.passwordKey } },
    });
    new JobV1(this, "Resource", {
      metadata: { name, namespace: props.namespace, labels },
      spec: {
        backoffLimit: 10,
        template: {
          metadata: { labels: { ...labels, ...props.clientPodLabels } },
          spec: {
            restartPolicy: "OnFailure",
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(999),
            container: [
              {
                name: "psql",
                image: props.image,
                command: ["psql", "--no-psqlrc", "--file=/sql/app-role.sql"],
                env: [
                  { name: "PGHOST", value: props.host },
                  { name: "PGPORT", value: String(props.port) },
                  { name: "PGDATABASE", value: props.databaseName },
                  { name: "PGUSER", value: props.adminUsername },
                  secretEnv("PGPASSWORD", props.adminSecretName),
                  { name: "APP_ROLE", value: props.appUsername },
                  secretEnv("APP_PASSWORD", props.appSecretName),
                ],
                resources: resources("50m", "64Mi", "500m", "128Mi"),
                securityContext: containerSecurityContext(999),
                volumeMount: [
                  { name: "sql", mountPath: "/sql", readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volume: [{ name: "sql", configMap: { name: sql.metadata.name } }, scratchVolume("tmp")],
          },
        },
      },
      // The database may still be starting: the Job retries; terraform does not wait for it.
      waitForCompletion: false,
    });
  }
}
