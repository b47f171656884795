import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { DataService } from "./_data-service";
import { checkInteger, PART_OF, scratchVolume } from "./_pod";
import type { IPostgres } from "./data-services";
import { PostgresAppRole } from "./postgres-app-role";
import { SecretSource } from "./secret-source";

/** Props of {@link PgvectorDatabase}. */
export interface PgvectorDatabaseProps {
  /**
   * Resource name; also the client Service's name.
   * @default "ai-postgres"
   */
  readonly name?: string;
  /** @default "default" */
  readonly namespace?: string;
  /**
   * Pinned pgvector image.
   * @default "pgvector/pgvector:0.8.0-pg16"
   */
  readonly image?: string;
  /** @default "ai_gateway" */
  readonly databaseName?: string;
  /** @default "ai_gateway" */
  readonly username?: string;
  /**
   * Where the password comes from (key `password`); AWS Secrets Manager is not supported here.
   * @default SecretSource.fromTerraformVariables() - sensitive variable `<name>_password`
   */
  readonly password?: SecretSource;
  /**
   * Run clients as a least-privilege role: the server's superuser becomes `adminUsername`
   * (password `adminPassword`, given to the server and the role Job only) and `username`
   * becomes a role that owns one schema and cannot create roles or databases (PostgresAppRole).
   * @default - `username` is the server's superuser
   */
  readonly adminUsername?: string;
  /**
   * The superuser's password (key `password`), used only when `adminUsername` is set.
   * @default SecretSource.fromTerraformVariables() - sensitive variable `<name>_admin_password`
   */
  readonly adminPassword?: SecretSource;
  /**
   * Size of the data volume. The ledger takes about 0.2 GiB per million
   * requests in its day partitions (135 MiB of rows and 64 MiB of primary key
   * per million, measured by `npm run bench -- ledger-scale`, docs/ledger-scale.md),
   * and as much again in the unpartitioned `ledger_requests` it keeps until the
   * partitioning's contract release; rollups are a few MiB a day. Size it as
   * requests per day ÷ 1,000,000 × `LEDGER_RETENTION_DAYS` × 0.4 GiB, plus
   * about 30 % for WAL, vacuum and index bloat: 1 million requests a day kept
   * 90 days is about 47 GiB, 10 million a day about 470 GiB.
   * @default 20
   */
  readonly storageGiB?: number;
  /**
   * Storage class of the PVC.
   * @default - the cluster's default storage class
   */
  readonly storageClassName?: string;
  /** Size of the `/dev/shm` memory emptyDir. @default 256 */
  readonly sharedMemoryMiB?: number;
  /** @default "250m" */
  readonly cpuRequest?: string;
  /** @default "512Mi" */
  readonly memoryRequest?: string;
  /** @default "1000m" */
  readonly cpuLimit?: string;
  /** @default "1Gi" */
  readonly memoryLimit?: string;
}

/** Postgres with pgvector as a one-replica StatefulSet, reachable only by pods carrying {@link clientPodLabels}. */
export class PgvectorDatabase extends DataService implements IPostgres {
  public readonly databaseName: string;
  public readonly username: string;
  public readonly sharedMemoryMiB: number;
  public readonly port = 5432;
  /** Secret holding the password under {@link passwordKey}. */
  public readonly secretName: string;
  public readonly passwordKey = "password";
  /** The sensitive password variable, when the password comes from Terraform. */
  public readonly passwordVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;
  /** The superuser, when it is not {@link username}. */
  public readonly adminUsername: string | undefined;
  /** The superuser's password Secret, when it is not {@link secretName}. */
  public readonly adminSecretName: string | undefined;

  constructor(scope: Construct, id: string, props: PgvectorDatabaseProps = {}) {
    super(scope, id, props, {
      owner: "PgvectorDatabase",
      component: "postgres",
      name: "ai-postgres",
      image: "pgvector/pgvector:0.8.0-pg16",
      storageGiB: 20,
      cpuRequest: "250m",
      memoryRequest: "512Mi",
      cpuLimit: "1000m",
      memoryLimit: "1Gi",
    });
    this.databaseName = props.databaseName ?? "ai_gateway";
    this.username = props.username ?? "ai_gateway";
    this.sharedMemoryMiB = props.sharedMemoryMiB ?? 256;

    checkInteger(
      "PgvectorDatabase",
      "sharedMemoryMiB",
      this.sharedMemoryMiB,
      64,
      "Postgres needs at least 64 MiB of /dev/shm",
    );
    this.checkResources();
    for (const [prop, value] of [
      ["databaseName", this.databaseName],
      ["username", this.username],
    ] as const) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
        throw new Error(
          `PgvectorDatabase: ${prop} ("${value}") must be a lower-case SQL identifier such as "ai_gateway"`,
        );
      }
    }
    const secret = this.bindSecret({
      prop: "password",
      source: props.password,
      key: this.passwordKey,
      describe: () => `Password of the ${this.username} role in ${this.name} (sensitive)`,
    });
    this.secretName = secret.secretName;
    this.passwordVariable = secret.variable;
    this.adminUsername = props.adminUsername;
    if (this.adminUsername !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(this.adminUsername)) {
      throw new Error(
        `PgvectorDatabase: adminUsername ("${this.adminUsername}") must be a lower-case SQL identifier such as "postgres"`,
      );
    }
    if (this.adminUsername === this.username) {
      throw new Error(
        `PgvectorDatabase: adminUsername ("${this.adminUsername}") must differ from username; the clients' role must not be the superuser`,
      );
    }
    this.adminSecretName = this.adminUsername
      ? ((props.adminPassword ?? SecretSource.fromTerraformVariables()).bind(
          new Construct(this, "AdminAuth"),
          {
            secretName: `${this.name}-admin-auth`,
            namespace: this.namespace,
            keys: [this.passwordKey],
            defaultPrefix: `${this.name}-admin`,
            describe: () => `Password of the ${this.adminUsername} superuser in ${this.name} (sensitive)`,
            urlSafe: true,
          },
        ).secretName ?? `${this.name}-admin-auth`)
      : undefined;

    const init = new ConfigMapV1(this, "InitScript", {
      metadata: { name: `${this.name}-init`, namespace: this.namespace, labels: { ...PART_OF } },
      data: { "00-vector.sql": "CREATE EXTENSION IF NOT EXISTS vector;\n" },
    });

    const ready = [
      "pg_isready",
      "-h",
      "127.0.0.1",
      "-p",
      "5432",
      "-U",
      this.username,
      "-d",
      this.databaseName,
    ];
    this.statefulSet = this.createStatefulSet({
      port: this.port,
      portName: "postgres",
      uid: 999,
      dataMountPath: "/var/lib/postgresql/data",
      container: {
        env: [
          { name: "POSTGRES_USER", value: this.adminUsername ?? this.username },
          { name: "POSTGRES_DB", value: this.databaseName },
          // A subdirectory: the volume root holds lost+found, which initdb refuses.
          { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
          {
            name: "POSTGRES_PASSWORD",
            valueFrom: {
              secretKeyRef: { name: this.adminSecretName ?? this.secretName, key: this.passwordKey },
            },
          },
        ],
        startupProbe: { exec: { command: ready }, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 5 },
        livenessProbe: {
          exec: { command: ready },
          periodSeconds: 10,
          failureThreshold: 6,
          timeoutSeconds: 5,
        },
        readinessProbe: {
          exec: { command: ready },
          periodSeconds: 5,
          failureThreshold: 3,
          timeoutSeconds: 5,
        },
      },
      mounts: [
        {
          volume: { name: "init", configMap: { name: init.metadata.name } },
          mountPath: "/docker-entrypoint-initdb.d",
          readOnly: true,
        },
        {
          volume: { name: "shm", emptyDir: { medium: "Memory", sizeLimit: `${this.sharedMemoryMiB}Mi` } },
          mountPath: "/dev/shm",
        },
        { volume: scratchVolume("run"), mountPath: "/var/run/postgresql" },
        { volume: scratchVolume("tmp"), mountPath: "/tmp" },
      ],
    });
    if (this.adminUsername && this.adminSecretName) {
      new PostgresAppRole(this, "AppRole", {
        namespace: this.namespace,
        name: this.name,
        image: this.image,
        host: this.host,
        port: this.port,
        databaseName: this.databaseName,
        adminUsername: this.adminUsername,
        adminSecretName: this.adminSecretName,
        appUsername: this.username,
        appSecretName: this.secretName,
        passwordKey: this.passwordKey,
        clientPodLabels: this.clientPodLabels,
      });
    }
  }
}
