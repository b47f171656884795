import type { Construct } from "constructs";
import { ExternalService, type ExternalServiceProps } from "./_external-service";
import type { IPostgres } from "./data-services";

/** Props of {@link ExternalPostgres}. */
export interface ExternalPostgresProps extends ExternalServiceProps {
  /** Database the gateway uses (pgvector installed). */
  readonly databaseName: string;
  /** Role the gateway logs in as. */
  readonly username: string;
  /** @default 5432 */
  readonly port?: number;
  /** `sslmode` of `DATABASE_URL`. @default "require" */
  readonly sslMode?: "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
}

/**
 * A managed Postgres (RDS, Cloud SQL, Azure Database…) for the gateway: its endpoint, the
 * Secret holding the password (`password` key) and the egress rule to it. Pass it as
 * `database` wherever a `PgvectorDatabase` fits.
 */
export class ExternalPostgres extends ExternalService implements IPostgres {
  public readonly databaseName: string;
  public readonly username: string;
  public readonly passwordKey = "password";
  public readonly sslMode: string;

  constructor(scope: Construct, id: string, props: ExternalPostgresProps) {
    super(scope, id, props, {
      owner: "ExternalPostgres",
      name: "external-postgres",
      port: props.port ?? 5432,
      key: "password",
    });
    for (const [prop, value] of [
      ["databaseName", props.databaseName],
      ["username", props.username],
    ] as const) {
      if (typeof value !== "string" || !/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(value)) {
        throw new Error(
          `ExternalPostgres: ${prop} (${JSON.stringify(value)}) must be a Postgres identifier, e.g. "ai_gateway"`,
        );
      }
    }
    this.databaseName = props.databaseName;
    this.username = props.username;
    this.sslMode = props.sslMode ?? "require";
  }
}
