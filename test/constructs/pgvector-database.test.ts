import "../helpers/cdktf-matchers";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { StatefulSetV1 } from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { PgvectorDatabase } from "../../constructs/kubernetes/pgvector-database";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { all, container, named, podSpec, synth, tfVar } from "../helpers/synth";

function build(props: ConstructorParameters<typeof PgvectorDatabase>[2] = {}): PgvectorDatabase {
  return new PgvectorDatabase(new TerraformStack(Testing.app(), "test"), "Database", props);
}

describe("PgvectorDatabase", () => {
  const { text, json } = synth((scope) => {
    new PgvectorDatabase(scope, "Database", {
      namespace: "ai",
      storageGiB: 30,
      storageClassName: "fast-ssd",
    });
  });
  const statefulSet = named(json, "kubernetes_stateful_set_v1", "ai-postgres");

  it("runs a pinned pgvector image with a PVC of the requested size and class", () => {
    expect(text).toHaveResourceWithProperties(StatefulSetV1, {
      metadata: expect.objectContaining({ name: "ai-postgres", namespace: "ai" }),
    });
    expect(container(statefulSet)["image"]).toBe("pgvector/pgvector:0.8.0-pg16");
    expect((statefulSet["spec"] as Record<string, unknown>)["volume_claim_template"]).toEqual([
      expect.objectContaining({
        spec: {
          access_modes: ["ReadWriteOnce"],
          storage_class_name: "fast-ssd",
          resources: { requests: { storage: "30Gi" } },
        },
      }),
    ]);
  });

  it("probes with pg_isready and runs non-root with a read-only root filesystem", () => {
    const ready = ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "ai_gateway", "-d", "ai_gateway"];
    expect(container(statefulSet)).toMatchObject({
      liveness_probe: { exec: { command: ready } },
      readiness_probe: { exec: { command: ready } },
      startup_probe: { exec: { command: ready } },
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "1Gi" } },
      security_context: {
        run_as_non_root: true,
        run_as_user: "999",
        allow_privilege_escalation: false,
        read_only_root_filesystem: true,
        capabilities: { drop: ["ALL"] },
      },
    });
    expect(podSpec(statefulSet)).toMatchObject({
      automount_service_account_token: false,
      security_context: { run_as_non_root: true, fs_group: "999" },
    });
    expect(podSpec(statefulSet)["volume"]).toContainEqual({
      name: "shm",
      empty_dir: { medium: "Memory", size_limit: "256Mi" },
    });
  });

  it("creates the vector extension from an init script", () => {
    const init = named(json, "kubernetes_config_map_v1", "ai-postgres-init");
    expect(init["data"]).toEqual({ "00-vector.sql": "CREATE EXTENSION IF NOT EXISTS vector;\n" });
    expect(container(statefulSet)["volume_mount"]).toContainEqual({
      name: "init",
      mount_path: "/docker-entrypoint-initdb.d",
      read_only: true,
    });
  });

  it("takes its password from a Secret filled by a sensitive variable", () => {
    expect(json.variable?.["ai_postgres_password"]).toMatchObject({ sensitive: true, type: "string" });
    expect(text).toHaveResourceWithProperties(SecretV1, {
      data: { password: tfVar("ai_postgres_password") },
    });
    expect(container(statefulSet)["env"]).toContainEqual({
      name: "POSTGRES_PASSWORD",
      value_from: { secret_key_ref: { name: "ai-postgres-auth", key: "password" } },
    });
  });

  it("admits only pods with its access label, on 5432, and keeps a disruption budget", () => {
    expect(text).toHaveResourceWithProperties(NetworkPolicyV1, {
      spec: expect.objectContaining({
        pod_selector: {
          match_labels: { "app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": "ai-postgres" },
        },
        policy_types: ["Ingress", "Egress"],
        ingress: [
          {
            from: [{ pod_selector: { match_labels: { "access.ai-deploy-kit.io/ai-postgres": "true" } } }],
            ports: [{ port: "5432", protocol: "TCP" }],
          },
        ],
      }),
    });
    expect(text).toHaveResourceWithProperties(PodDisruptionBudgetV1, {
      spec: expect.objectContaining({ max_unavailable: "1" }),
    });
  });

  it("exposes what clients need", () => {
    const database = build({ namespace: "ai" });
    expect(database).toMatchObject({
      host: "ai-postgres.ai.svc.cluster.local",
      port: 5432,
      databaseName: "ai_gateway",
      username: "ai_gateway",
      secretName: "ai-postgres-auth",
      passwordKey: "password",
      clientPodLabels: { "access.ai-deploy-kit.io/ai-postgres": "true" },
    });
  });

  it("reads an existing Secret without creating one or a variable", () => {
    const existing = synth((scope) => {
      new PgvectorDatabase(scope, "Database", {
        password: SecretSource.fromExistingSecret("pg-credentials"),
      });
    });
    expect(all(existing.json, "kubernetes_secret_v1")).toEqual([]);
    expect(existing.json.variable).toBeUndefined();
    expect(
      container(named(existing.json, "kubernetes_stateful_set_v1", "ai-postgres"))["env"],
    ).toContainEqual({
      name: "POSTGRES_PASSWORD",
      value_from: { secret_key_ref: { name: "pg-credentials", key: "password" } },
    });
  });

  it("fails when storageGiB is zero", () => {
    expect(() => build({ storageGiB: 0 })).toThrow(
      "PgvectorDatabase: storageGiB (0) must be a whole number of at least 1; give the volume size in GiB, for example 20",
    );
  });

  it("fails when the image has no tag", () => {
    expect(() => build({ image: "pgvector/pgvector" })).toThrow(
      'PgvectorDatabase: image ("pgvector/pgvector") has no tag; pin an immutable tag such as "pgvector/pgvector:1.0.0" or a digest',
    );
  });

  it("fails when the memory request exceeds the limit", () => {
    expect(() => build({ memoryRequest: "2Gi", memoryLimit: "1Gi" })).toThrow(
      "PgvectorDatabase: memoryRequest (2Gi) must not exceed memoryLimit (1Gi)",
    );
  });

  it("fails when a quantity is malformed", () => {
    expect(() => build({ cpuLimit: "two" })).toThrow(
      'PgvectorDatabase: cpuLimit ("two") is not a positive Kubernetes quantity; use for example "2000m"',
    );
  });

  it("fails when the name is not a Kubernetes name", () => {
    expect(() => build({ name: "AI_Postgres" })).toThrow(
      'PgvectorDatabase: name ("AI_Postgres") must be lower-case letters, digits and "-", at most 52 characters, starting and ending alphanumeric',
    );
  });

  it("fails when the database name is not an SQL identifier", () => {
    expect(() => build({ databaseName: "ai-gateway" })).toThrow(
      'PgvectorDatabase: databaseName ("ai-gateway") must be a lower-case SQL identifier such as "ai_gateway"',
    );
  });

  it("fails when shared memory is below 64 MiB", () => {
    expect(() => build({ sharedMemoryMiB: 32 })).toThrow(
      "PgvectorDatabase: sharedMemoryMiB (32) must be a whole number of at least 64; Postgres needs at least 64 MiB of /dev/shm",
    );
  });

  it("fails when the password comes from AWS Secrets Manager", () => {
    const source = SecretSource.fromAwsSecretsManager(
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-AbCdEf",
    );
    expect(() => build({ password: source })).toThrow(
      "PgvectorDatabase: password (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
    );
  });
});
