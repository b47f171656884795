import "../helpers/cdktf-matchers";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { REDIS_SERVER_LAUNCH, RedisCache } from "../../constructs/kubernetes/redis-cache";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { container, named, podSpec, synth } from "../helpers/synth";

function build(props: ConstructorParameters<typeof RedisCache>[2] = {}): RedisCache {
  return new RedisCache(new TerraformStack(Testing.app(), "test"), "Cache", props);
}

describe("RedisCache", () => {
  const { text, json } = synth((scope) => {
    new RedisCache(scope, "Cache", { namespace: "ai", storageGiB: 8 });
  });
  const statefulSet = named(json, "kubernetes_stateful_set_v1", "ai-redis");

  it("runs pinned redis 7 alpine with append-only persistence, a password reference and dangerous commands disabled", () => {
    expect(container(statefulSet)).toMatchObject({
      image: "redis:7.4.1-alpine",
      command: ["sh", "-c", REDIS_SERVER_LAUNCH, "redis-server"],
      args: expect.arrayContaining(["--appendonly", "yes", "--save", "3600 1 300 100"]),
    });
    // 75 % of the 512Mi limit, so Redis refuses writes before the kernel kills it.
    expect(container(statefulSet)["args"]).toEqual(
      expect.arrayContaining(["--maxmemory", "384mb", "--maxmemory-policy", "noeviction"]),
    );
    const args = container(statefulSet)["args"] as string[];
    for (const command of ["FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG", "SHUTDOWN", "MODULE"]) {
      const at = args.indexOf(command);
      expect(args.slice(at - 1, at + 2)).toEqual(["--rename-command", command, ""]);
    }
    expect(container(statefulSet)["env"]).toContainEqual({
      name: "REDIS_PASSWORD",
      value_from: { secret_key_ref: { name: "ai-redis-auth", key: "password" } },
    });
  });

  it("probes with redis-cli ping, authenticated from the Secret", () => {
    const ping = { exec: { command: ["sh", "-c", "redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"] } };
    expect(container(statefulSet)).toMatchObject({
      liveness_probe: ping,
      readiness_probe: ping,
      startup_probe: ping,
      security_context: {
        run_as_non_root: true,
        read_only_root_filesystem: true,
        capabilities: { drop: ["ALL"] },
      },
      resources: { limits: { cpu: "500m", memory: "512Mi" } },
    });
    expect(container(statefulSet)["env"]).toContainEqual({
      name: "REDISCLI_AUTH",
      value_from: { secret_key_ref: { name: "ai-redis-auth", key: "password" } },
    });
    expect(podSpec(statefulSet)["automount_service_account_token"]).toBe(false);
  });

  it("keeps data on an 8 GiB PVC, with a PDB and a NetworkPolicy on 6379", () => {
    expect((statefulSet["spec"] as Record<string, unknown>)["volume_claim_template"]).toEqual([
      expect.objectContaining({
        spec: { access_modes: ["ReadWriteOnce"], resources: { requests: { storage: "8Gi" } } },
      }),
    ]);
    expect(text).toHaveResourceWithProperties(NetworkPolicyV1, {
      spec: expect.objectContaining({
        ingress: [
          {
            from: [{ pod_selector: { match_labels: { "access.ai-deploy-kit.io/ai-redis": "true" } } }],
            ports: [{ port: "6379", protocol: "TCP" }],
          },
        ],
      }),
    });
    expect(text).toHaveResource(PodDisruptionBudgetV1);
  });

  it("fails when storageGiB is zero", () => {
    expect(() => build({ storageGiB: 0 })).toThrow(
      "RedisCache: storageGiB (0) must be a whole number of at least 1; give the volume size in GiB, for example 5",
    );
  });

  it("fails when the image has no tag", () => {
    expect(() => build({ image: "redis" })).toThrow(
      'RedisCache: image ("redis") has no tag; pin an immutable tag such as "redis:1.0.0" or a digest',
    );
  });

  it("fails when a disabled command is not a command name", () => {
    expect(() => build({ disabledCommands: ["flush all"] })).toThrow(
      'RedisCache: disabledCommands entry ("flush all") is not a Redis command name; use upper case, for example "FLUSHALL"',
    );
  });

  it("fails when the CPU request exceeds the limit", () => {
    expect(() => build({ cpuRequest: "1", cpuLimit: "500m" })).toThrow(
      "RedisCache: cpuRequest (1) must not exceed cpuLimit (500m)",
    );
  });

  it("fails when the password comes from AWS Secrets Manager", () => {
    const source = SecretSource.fromAwsSecretsManager(
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-AbCdEf",
    );
    expect(() => build({ password: source })).toThrow(
      "RedisCache: password (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
    );
  });
});
