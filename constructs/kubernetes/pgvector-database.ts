import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { statefulDataService } from "./_data-service";
import {
  accessLabel,
  checkImage,
  checkInteger,
  checkName,
  checkResources,
  PART_OF,
  scratchVolume,
  selectorLabels,
} from "./_pod";
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
  /** @default 20 */
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
export class PgvectorDatabase extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly image: string;
  public readonly databaseName: string;
  public readonly username: string;
  public readonly storageGiB: number;
  public readonly storageClassName: string | undefined;
  public readonly sharedMemoryMiB: number;
  /** Client Service DNS name. */
  public readonly host: string;
  public readonly port = 5432;
  /** Secret holding the password under {@link passwordKey}. */
  public readonly secretName: string;
  public readonly passwordKey = "password";
  /** Labels a pod needs for the NetworkPolicy to admit it. */
  public readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Labels selecting the service's pods (for clients' egress rules). */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** The sensitive password variable, when the password comes from Terraform. */
  public readonly passwordVariable: TerraformVariable | undefined;
  public readonly statefulSet: StatefulSetV1;

  constructor(scope: Construct, id: string, props: PgvectorDatabaseProps = {}) {
    super(scope, id);
    this.name = props.name ?? "ai-postgres";
    this.namespace = props.namespace ?? "default";
    this.image = props.image ?? "pgvector/pgvector:0.8.0-pg16";
    this.databaseName = props.databaseName ?? "ai_gateway";
    this.username = props.username ?? "ai_gateway";
    this.storageGiB = props.storageGiB ?? 20;
    this.storageClassName = props.storageClassName;
    this.sharedMemoryMiB = props.sharedMemoryMiB ?? 256;
    const cpuRequest = props.cpuRequest ?? "250m";
    const memoryRequest = props.memoryRequest ?? "512Mi";
    const cpuLimit = props.cpuLimit ?? "1000m";
    const memoryLimit = props.memoryLimit ?? "1Gi";

    checkName("PgvectorDatabase", "name", this.name);
    checkImage("PgvectorDatabase", "image", this.image);
    checkInteger(
      "PgvectorDatabase",
      "storageGiB",
      this.storageGiB,
      1,
      "give the volume size in GiB, for example 20",
    );
    checkInteger(
      "PgvectorDatabase",
      "sharedMemoryMiB",
      this.sharedMemoryMiB,
      64,
      "Postgres needs at least 64 MiB of /dev/shm",
    );
    checkResources("PgvectorDatabase", cpuRequest, memoryRequest, cpuLimit, memoryLimit);
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
    const source = props.password ?? SecretSource.fromTerraformVariables();
    if (source.kind === "aws-secrets-manager") {
      throw new Error(
        "PgvectorDatabase: password (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
      );
    }

    this.host = `${this.name}.${this.namespace}.svc.cluster.local`;
    this.clientPodLabels = accessLabel(this.name);
    this.selectorLabels = selectorLabels(this.name, "postgres");
    const bound = source.bind(new Construct(this, "Auth"), {
      secretName: `${this.name}-auth`,
      namespace: this.namespace,
      keys: [this.passwordKey],
      defaultPrefix: this.name,
      describe: () => `Password of the ${this.username} role in ${this.name} (sensitive)`,
      urlSafe: true,
    });
    this.secretName = bound.secretName ?? `${this.name}-auth`;
    this.passwordVariable = bound.variables[this.passwordKey];

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
    this.statefulSet = statefulDataService(this, {
      name: this.name,
      namespace: this.namespace,
      component: "postgres",
      image: this.image,
      port: this.port,
      portName: "postgres",
      uid: 999,
      storageGiB: this.storageGiB,
      storageClassName: this.storageClassName,
      dataMountPath: "/var/lib/postgresql/data",
      cpuRequest,
      memoryRequest,
      cpuLimit,
      memoryLimit,
      container: {
        env: [
          { name: "POSTGRES_USER", value: this.username },
          { name: "POSTGRES_DB", value: this.databaseName },
          // A subdirectory: the volume root holds lost+found, which initdb refuses.
          { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
          {
            name: "POSTGRES_PASSWORD",
            valueFrom: { secretKeyRef: { name: this.secretName, key: this.passwordKey } },
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
  }
}
