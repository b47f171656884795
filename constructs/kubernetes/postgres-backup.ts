import { CronJobV1 } from "@cdktf/provider-kubernetes/lib/cron-job-v1";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PersistentVolumeClaimV1 } from "@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { Construct } from "constructs";
import {
  checkImage,
  checkInteger,
  componentLabels,
  containerSecurityContext,
  podSecurityContext,
  resources,
  scratchVolume,
  selectorLabels,
} from "./_pod";
import type { PgvectorDatabase } from "./pgvector-database";

/**
 * What the backup CronJob runs, word for word (the restore drill test runs it
 * too): a custom-format `pg_dump` of `$PGDATABASE` into `$BACKUP_DIR`, checked
 * readable with `pg_restore --list` before it gets its final name, then
 * retention (older than `$BACKUP_KEEP_DAYS` days, beyond the
 * `$BACKUP_KEEP_COUNT` newest) and the time of this good backup in
 * `$BACKUP_DIR/last-success`. The connection comes from libpq's PG*
 * variables; the password from `PGPASSWORD`, never the command line.
 */
export const POSTGRES_BACKUP_SCRIPT = `set -eu
umask 077
dir="\${BACKUP_DIR:?}"
keep_count="\${BACKUP_KEEP_COUNT:?}"
keep_days="\${BACKUP_KEEP_DAYS:?}"
file="$dir/\${PGDATABASE:?}-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --compress=6 --no-password --file="$file.partial"
pg_restore --list "$file.partial" > /dev/null
mv "$file.partial" "$file"
find "$dir" -maxdepth 1 -name "$PGDATABASE-*.dump" -mtime +"$keep_days" -exec rm -f {} +
ls -1t "$dir"/"$PGDATABASE"-*.dump | tail -n +"$((keep_count + 1))" | while read -r old; do rm -f "$old"; done
date -u +%s > "$dir/last-success"
echo "backup $file: $(wc -c < "$file") bytes"
`;

/**
 * The upload step of an S3 target (aws-cli image, IRSA credentials): copies
 * the new dump to `s3://$BACKUP_S3_BUCKET/$BACKUP_S3_PREFIX/` and keeps the
 * `$BACKUP_KEEP_COUNT` newest; age is the bucket's lifecycle rule (docs/operations.md "Backups").
 */
export const POSTGRES_BACKUP_UPLOAD_SCRIPT = `set -eu
for file in "\${BACKUP_DIR:?}"/*.dump; do
  aws s3 cp --only-show-errors --sse AES256 "$file" "s3://\${BACKUP_S3_BUCKET:?}/\${BACKUP_S3_PREFIX:?}/$(basename "$file")"
done
aws s3 ls "s3://$BACKUP_S3_BUCKET/$BACKUP_S3_PREFIX/" | awk '{print $4}' | grep '\\.dump$' | sort -r \\
  | tail -n +"$((\${BACKUP_KEEP_COUNT:?} + 1))" | while read -r old; do
  aws s3 rm --only-show-errors "s3://$BACKUP_S3_BUCKET/$BACKUP_S3_PREFIX/$old"
done
`;

/** Where dumps go: a volume in the namespace or an S3 bucket. */
export class BackupTarget {
  /** A PVC of `storageGiB` (protected from destroy like every PVC of the kit). */
  static toVolume(options: { readonly storageGiB?: number; readonly storageClassName?: string } = {}) {
    return new BackupTarget("volume", options.storageGiB ?? 20, options.storageClassName, undefined);
  }

  /**
   * An S3 bucket, credentials through IRSA: the CronJob's ServiceAccount carries
   * `eks.amazonaws.com/role-arn: roleArn` (the role needs s3:PutObject, ListBucket, DeleteObject on the prefix).
   */
  static toS3(options: {
    readonly bucket: string;
    readonly roleArn: string;
    readonly prefix?: string;
    readonly region?: string;
  }) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new Error(`BackupTarget.toS3: bucket ("${options.bucket}") is not an S3 bucket name`);
    }
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(options.roleArn)) {
      throw new Error(
        `BackupTarget.toS3: roleArn ("${options.roleArn}") must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    }
    return new BackupTarget("s3", undefined, undefined, {
      bucket: options.bucket,
      roleArn: options.roleArn,
      prefix: options.prefix ?? "postgres",
      region: options.region,
    });
  }

  private constructor(
    public readonly kind: "volume" | "s3",
    public readonly storageGiB: number | undefined,
    public readonly storageClassName: string | undefined,
    public readonly s3:
      | { bucket: string; roleArn: string; prefix: string; region: string | undefined }
      | undefined,
  ) {}
}

/** Props of {@link PostgresBackup}. */
export interface PostgresBackupProps {
  /** The database to dump; its password Secret and NetworkPolicy access label are reused. */
  readonly database: PgvectorDatabase;
  /** @default BackupTarget.toVolume() - a 20 GiB PVC */
  readonly target?: BackupTarget;
  /** Cron schedule (UTC). @default "17 2 * * *" */
  readonly schedule?: string;
  /** Dumps kept, newest first. @default 14 */
  readonly keepCount?: number;
  /** Dumps older than this are deleted (volume target). @default 30 */
  readonly keepDays?: number;
  /** The alert fires when the last good backup is older than this. @default 26 */
  readonly maxAgeHours?: number;
  /**
   * Image with pg_dump; its major version must be the server's.
   * @default - the database's own image
   */
  readonly image?: string;
  /** @default "amazon/aws-cli:2.22.35" */
  readonly awsCliImage?: string;
  /**
   * Create the PrometheusRule (needs the Prometheus Operator CRDs and kube-state-metrics).
   * @default true
   */
  readonly prometheusOperatorEnabled?: boolean;
  /** Labels the Prometheus Operator selects rules by. @default {} */
  readonly prometheusSelectorLabels?: Readonly<Record<string, string>>;
}

/**
 * Scheduled `pg_dump` backups of a {@link PgvectorDatabase}: a CronJob running
 * {@link POSTGRES_BACKUP_SCRIPT} into a PVC (or an S3 bucket through IRSA),
 * retention by count and age, and an alert when the last successful run
 * (kube-state-metrics' `kube_cronjob_status_last_successful_time`) is older
 * than `maxAgeHours`. Restore: `npm run restore` (docs/operations.md, "Restore").
 */
export class PostgresBackup extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly schedule: string;
  public readonly keepCount: number;
  public readonly keepDays: number;
  public readonly maxAgeHours: number;
  public readonly target: BackupTarget;
  /** Where dumps are written inside the pod (and kept, for a volume target). */
  public readonly backupDir = "/backups";
  /** The PVC holding the dumps, for a volume target. */
  public readonly claimName: string | undefined;
  /** The alert rules, for tests and docs. */
  public readonly alerts: readonly { alert: string; expr: string; for: string }[];

  constructor(scope: Construct, id: string, props: PostgresBackupProps) {
    super(scope, id);
    const database = props.database;
    this.name = `${database.name}-backup`;
    this.namespace = database.namespace;
    this.schedule = props.schedule ?? "17 2 * * *";
    this.keepCount = props.keepCount ?? 14;
    this.keepDays = props.keepDays ?? 30;
    this.maxAgeHours = props.maxAgeHours ?? 26;
    this.target = props.target ?? BackupTarget.toVolume();
    const image = props.image ?? database.image;
    const awsCliImage = props.awsCliImage ?? "amazon/aws-cli:2.22.35";

    if (this.schedule.trim().split(/\s+/).length !== 5) {
      throw new Error(
        `PostgresBackup: schedule ("${this.schedule}") must be a five-field cron expression, for example "17 2 * * *"`,
      );
    }
    checkInteger("PostgresBackup", "keepCount", this.keepCount, 1, "keep at least one dump, for example 14");
    checkInteger("PostgresBackup", "keepDays", this.keepDays, 1, "give whole days, for example 30");
    checkInteger("PostgresBackup", "maxAgeHours", this.maxAgeHours, 1, "give whole hours, for example 26");
    checkImage("PostgresBackup", "image", image);
    checkImage("PostgresBackup", "awsCliImage", awsCliImage);

    const labels = componentLabels(this.name, "postgres-backup");
    const metadata = { name: this.name, namespace: this.namespace, labels };
    const s3 = this.target.s3;

    if (this.target.kind === "volume") {
      const claim = new PersistentVolumeClaimV1(this, "Volume", {
        metadata: { ...metadata, name: `${this.name}s` },
        spec: {
          accessModes: ["ReadWriteOnce"],
          ...(this.target.storageClassName ? { storageClassName: this.target.storageClassName } : {}),
          resources: { requests: { storage: `${this.target.storageGiB}Gi` } },
        },
        // A WaitForFirstConsumer class binds only when the first backup runs.
        waitUntilBound: false,
      });
      this.claimName = claim.metadata.name;
    }
    const account = s3
      ? new ServiceAccountV1(this, "ServiceAccount", {
          metadata: { ...metadata, annotations: { "eks.amazonaws.com/role-arn": s3.roleArn } },
          automountServiceAccountToken: false,
        })
      : undefined;

    const pgEnv = [
      { name: "PGHOST", value: database.host },
      { name: "PGPORT", value: String(database.port) },
      { name: "PGUSER", value: database.username },
      { name: "PGDATABASE", value: database.databaseName },
      {
        name: "PGPASSWORD",
        valueFrom: { secretKeyRef: { name: database.secretName, key: database.passwordKey } },
      },
      { name: "BACKUP_DIR", value: this.backupDir },
      { name: "BACKUP_KEEP_COUNT", value: String(this.keepCount) },
      { name: "BACKUP_KEEP_DAYS", value: String(this.keepDays) },
    ];
    const mounts = [
      { name: "backups", mountPath: this.backupDir },
      { name: "tmp", mountPath: "/tmp" },
    ];
    const dump = {
      name: "pg-dump",
      image,
      imagePullPolicy: "IfNotPresent",
      command: ["sh", "-c", POSTGRES_BACKUP_SCRIPT],
      env: pgEnv,
      resources: resources("100m", "128Mi", "1000m", "512Mi"),
      securityContext: containerSecurityContext(999),
      volumeMount: mounts,
    };
    const upload = s3
      ? {
          name: "upload",
          image: awsCliImage,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", POSTGRES_BACKUP_UPLOAD_SCRIPT],
          env: [
            { name: "BACKUP_DIR", value: this.backupDir },
            { name: "BACKUP_KEEP_COUNT", value: String(this.keepCount) },
            { name: "BACKUP_S3_BUCKET", value: s3.bucket },
            { name: "BACKUP_S3_PREFIX", value: s3.prefix },
            { name: "HOME", value: "/tmp" },
            ...(s3.region ? [{ name: "AWS_REGION", value: s3.region }] : []),
          ],
          resources: resources("50m", "128Mi", "500m", "256Mi"),
          securityContext: containerSecurityContext(999),
          volumeMount: mounts,
        }
      : undefined;

    new CronJobV1(this, "Resource", {
      metadata,
      spec: {
        schedule: this.schedule,
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3600,
            template: {
              // The database's NetworkPolicy admits pods carrying its access label.
              metadata: { labels: { ...labels, ...database.clientPodLabels } },
              spec: {
                restartPolicy: "Never",
                automountServiceAccountToken: false,
                ...(account ? { serviceAccountName: account.metadata.name } : {}),
                securityContext: podSecurityContext(999),
                // S3: dump first (init container), then upload; a volume needs the dump only.
                ...(upload ? { initContainer: [dump], container: [upload] } : { container: [dump] }),
                volume: [
                  this.claimName
                    ? { name: "backups", persistentVolumeClaim: { claimName: this.claimName } }
                    : { name: "backups", emptyDir: { sizeLimit: "20Gi" } },
                  scratchVolume("tmp"),
                ],
              },
            },
          },
        },
      },
    });

    new NetworkPolicyV1(this, "NetworkPolicy", {
      metadata,
      spec: {
        podSelector: { matchLabels: selectorLabels(this.name, "postgres-backup") },
        policyTypes: ["Ingress", "Egress"],
        egress: [
          {
            to: [{ podSelector: { matchLabels: database.selectorLabels } }],
            ports: [{ port: String(database.port), protocol: "TCP" }],
          },
          {
            ports: [
              { port: "53", protocol: "UDP" },
              { port: "53", protocol: "TCP" },
            ],
          },
          ...(s3 ? [{ ports: [{ port: "443", protocol: "TCP" }] }] : []),
        ],
      },
    });

    const selector = `namespace="${this.namespace}",cronjob="${this.name}"`;
    this.alerts = [
      {
        alert: "PostgresBackupTooOld",
        expr: `time() - max(kube_cronjob_status_last_successful_time{${selector}}) > ${this.maxAgeHours * 3600}`,
        for: "15m",
      },
      {
        alert: "PostgresBackupNeverSucceeded",
        expr: `absent(kube_cronjob_status_last_successful_time{${selector}})`,
        for: `${this.maxAgeHours}h`,
      },
    ];
    if (props.prometheusOperatorEnabled ?? true) {
      new Manifest(this, "Alerts", {
        manifest: {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: {
            name: this.name,
            namespace: this.namespace,
            labels: { ...labels, ...(props.prometheusSelectorLabels ?? {}) },
          },
          spec: {
            groups: [
              {
                name: `${this.name}.rules`,
                rules: this.alerts.map((rule) => ({
                  ...rule,
                  labels: { severity: "critical" },
                  annotations: {
                    summary: `No good Postgres backup of ${database.name} in ${this.maxAgeHours}h`,
                    runbook:
                      "docs/operations.md, Backups (kubectl -n <namespace> logs job/<last backup job>)",
                  },
                })),
              },
            ],
          },
        },
      });
    }
  }
}
