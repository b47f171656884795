import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { PgvectorDatabase } from "../../constructs/kubernetes/pgvector-database";
import {
  BackupTarget,
  POSTGRES_BACKUP_SCRIPT,
  PostgresBackup,
  type PostgresBackupProps,
} from "../../constructs/kubernetes/postgres-backup";
import { type Body, podSpec, synth } from "../helpers/synth";

function build(props: Partial<PostgresBackupProps> = {}) {
  return synth((scope) => {
    const database = new PgvectorDatabase(scope, "Database", { namespace: "ai" });
    new PostgresBackup(scope, "Backup", { database, ...props });
  }).json;
}

const cronJob = (json: ReturnType<typeof build>) =>
  Object.values(json.resource?.["kubernetes_cron_job_v1"] ?? {})[0]!;
const jobPod = (body: Body) => podSpec((body["spec"] as Body)["job_template"] as Body[] | Body as Body);

describe("PostgresBackup", () => {
  it("runs the backup script on a schedule into a PVC, one at a time, password from the Secret", () => {
    const json = build();
    const job = cronJob(json);
    const spec = job["spec"] as Body;
    expect(spec).toMatchObject({ schedule: "17 2 * * *", concurrency_policy: "Forbid" });
    const pod = jobPod(job);
    const [dump] = pod["container"] as Body[];
    expect(dump!["image"]).toBe("pgvector/pgvector:0.8.0-pg16");
    expect(dump!["command"]).toEqual(["sh", "-c", POSTGRES_BACKUP_SCRIPT]);
    expect(POSTGRES_BACKUP_SCRIPT).toContain("pg_dump --format=custom");
    expect(dump!["env"]).toContainEqual({
      name: "PGPASSWORD",
      value_from: { secret_key_ref: { name: "ai-postgres-auth", key: "password" } },
    });
    expect(dump!["env"]).toContainEqual({ name: "BACKUP_KEEP_COUNT", value: "14" });
    expect(dump!["env"]).toContainEqual({ name: "BACKUP_KEEP_DAYS", value: "30" });
    expect(pod["volume"]).toContainEqual({
      name: "backups",
      // A reference: the PVC exists before the first run.
      persistent_volume_claim: {
        claim_name: expect.stringMatching(
          /^\$\{kubernetes_persistent_volume_claim_v1\.Backup_Volume_[0-9A-F]+\.metadata\[0\]\.name\}$/,
        ),
      },
    });
    // The database's NetworkPolicy admits it.
    expect((((spec["job_template"] as Body)["spec"] as Body)["template"] as Body)["metadata"]).toMatchObject({
      labels: { "access.ai-deploy-kit.io/ai-postgres": "true" },
    });
    const claim = Object.values(json.resource?.["kubernetes_persistent_volume_claim_v1"] ?? {})[0]!;
    expect(claim).toMatchObject({
      metadata: { name: "ai-postgres-backups", namespace: "ai" },
      spec: { resources: { requests: { storage: "20Gi" } } },
      wait_until_bound: false,
    });
  });

  it("alerts when the last successful backup is older than maxAgeHours, or there never was one", () => {
    const json = build({ maxAgeHours: 30 });
    const rule = Object.values(json.resource?.["kubernetes_manifest"] ?? {})[0]!;
    const rules = (((rule["manifest"] as Body)["spec"] as Body)["groups"] as Body[])[0]!["rules"] as Body[];
    expect(rules.map((entry) => [entry["alert"], entry["expr"], entry["for"]])).toEqual([
      [
        "PostgresBackupTooOld",
        'time() - max(kube_cronjob_status_last_successful_time{namespace="ai",cronjob="ai-postgres-backup"}) > 108000',
        "15m",
      ],
      [
        "PostgresBackupNeverSucceeded",
        'absent(kube_cronjob_status_last_successful_time{namespace="ai",cronjob="ai-postgres-backup"})',
        "30h",
      ],
    ]);
    expect(build({ prometheusOperatorEnabled: false }).resource?.["kubernetes_manifest"]).toBeUndefined();
  });

  it("uploads to S3 with an IRSA ServiceAccount: dump in an init container, upload after", () => {
    const json = build({
      target: BackupTarget.toS3({ bucket: "acme-backups", roleArn: "arn:aws:iam::123456789012:role/backup" }),
    });
    const account = Object.values(json.resource?.["kubernetes_service_account_v1"] ?? {})[0]!;
    expect((account["metadata"] as Body)["annotations"]).toEqual({
      "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup",
    });
    const pod = jobPod(cronJob(json));
    expect((pod["init_container"] as Body[]).map((entry) => entry["name"])).toEqual(["pg-dump"]);
    expect((pod["container"] as Body[]).map((entry) => entry["name"])).toEqual(["upload"]);
    expect(pod["service_account_name"]).toMatch(/^\$\{kubernetes_service_account_v1\.Backup_ServiceAccount_/);
    expect(json.resource?.["kubernetes_persistent_volume_claim_v1"]).toBeUndefined();
  });

  it("fails when the schedule, retention or S3 target is wrong, naming the prop", () => {
    const stack = () => new TerraformStack(Testing.app(), "t");
    const database = (scope: TerraformStack) => new PgvectorDatabase(scope, "Database");
    const scope1 = stack();
    expect(() => new PostgresBackup(scope1, "B", { database: database(scope1), schedule: "daily" })).toThrow(
      'PostgresBackup: schedule ("daily") must be a five-field cron expression, for example "17 2 * * *"',
    );
    const scope2 = stack();
    expect(() => new PostgresBackup(scope2, "B", { database: database(scope2), keepCount: 0 })).toThrow(
      /PostgresBackup: keepCount/,
    );
    expect(() => BackupTarget.toS3({ bucket: "acme", roleArn: "backup-role" })).toThrow(
      'BackupTarget.toS3: roleArn ("backup-role") must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    );
  });
});
