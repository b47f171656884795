import "../helpers/cdktf-matchers";
import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { CHROMA_LOG_CONFIG_PATH, ChromaStore } from "../../constructs/kubernetes/chroma-store";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { type Body, container, named, synth } from "../helpers/synth";

function build(props: ConstructorParameters<typeof ChromaStore>[2] = {}): ChromaStore {
  return new ChromaStore(new TerraformStack(Testing.app(), "test"), "VectorStore", props);
}

describe("ChromaStore", () => {
  const { text, json } = synth((scope) => {
    new ChromaStore(scope, "VectorStore", { namespace: "ai", dataMountPath: "/data/chroma", storageGiB: 12 });
  });
  const statefulSet = named(json, "kubernetes_stateful_set_v1", "ai-chroma");

  it("mounts its PVC at the configured path and persists there", () => {
    expect(container(statefulSet)["image"]).toBe("chromadb/chroma:0.6.3");
    expect(container(statefulSet)["volume_mount"]).toContainEqual({
      name: "data",
      mount_path: "/data/chroma",
    });
    expect(container(statefulSet)["env"]).toContainEqual({
      name: "PERSIST_DIRECTORY",
      value: "/data/chroma",
    });
    expect((statefulSet["spec"] as Record<string, unknown>)["volume_claim_template"]).toEqual([
      expect.objectContaining({
        spec: { access_modes: ["ReadWriteOnce"], resources: { requests: { storage: "12Gi" } } },
      }),
    ]);
  });

  it("starts uvicorn with a mounted log config that writes no file (read-only /chroma)", () => {
    const body = container(statefulSet);
    const command = body["command"] as string[];
    expect(command.slice(0, 2)).toEqual(["uvicorn", "chromadb.app:app"]);
    expect(command[command.indexOf("--log-config") + 1]).toBe(CHROMA_LOG_CONFIG_PATH);
    expect(command).not.toContain("chromadb/log_config.yml");
    expect(body["volume_mount"]).toContainEqual({
      name: "log-config",
      mount_path: "/etc/chroma",
      read_only: true,
    });
    const pod = (statefulSet["spec"] as Body)["template"] as Body;
    expect((pod["spec"] as Body)["volume"]).toContainEqual({
      name: "log-config",
      config_map: {
        name: `\${kubernetes_config_map_v1.VectorStore_LogConfig_48C7FB44.metadata[0].name}`,
        default_mode: "0444",
      },
    });
    const data = named(json, "kubernetes_config_map_v1", "ai-chroma-log-config")["data"] as Body;
    const config = JSON.parse(String(data["log_config.json"])) as {
      handlers: Record<string, Record<string, string>>;
      loggers: Record<string, { handlers: string[] }>;
    };
    // A file handler anywhere would write into the read-only working directory.
    for (const handler of Object.values(config.handlers)) {
      expect(handler["class"]).toBe("logging.StreamHandler");
      expect(handler).not.toHaveProperty("filename");
    }
    for (const logger of Object.values(config.loggers)) {
      for (const name of logger.handlers) expect(config.handlers).toHaveProperty(name);
    }
  });

  it("authenticates with a token from its Secret and probes the v2 heartbeat", () => {
    expect(container(statefulSet)["env"]).toContainEqual({
      name: "CHROMA_SERVER_AUTHN_CREDENTIALS",
      value_from: { secret_key_ref: { name: "ai-chroma-auth", key: "token" } },
    });
    const heartbeat = { http_get: { path: "/api/v2/heartbeat", port: "http" } };
    expect(container(statefulSet)).toMatchObject({
      liveness_probe: heartbeat,
      readiness_probe: heartbeat,
      startup_probe: heartbeat,
      security_context: { run_as_non_root: true, run_as_user: "1000", read_only_root_filesystem: true },
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1000m", memory: "2Gi" } },
    });
    expect(json.variable?.["ai_chroma_token"]).toMatchObject({ sensitive: true });
  });

  it("admits only its clients on 8000", () => {
    expect(text).toHaveResourceWithProperties(NetworkPolicyV1, {
      spec: expect.objectContaining({
        ingress: [
          {
            from: [{ pod_selector: { match_labels: { "access.ai-deploy-kit.io/ai-chroma": "true" } } }],
            ports: [{ port: "8000", protocol: "TCP" }],
          },
        ],
      }),
    });
    expect(build({ namespace: "ai" }).url).toBe("http://ai-chroma.ai.svc.cluster.local:8000");
  });

  it("fails when the mount path is not absolute", () => {
    expect(() => build({ dataMountPath: "chroma" })).toThrow(
      'ChromaStore: dataMountPath ("chroma") must be an absolute directory other than "/", for example "/chroma/chroma"',
    );
  });

  it("fails when storageGiB is zero", () => {
    expect(() => build({ storageGiB: 0 })).toThrow(
      "ChromaStore: storageGiB (0) must be a whole number of at least 1; give the volume size in GiB, for example 20",
    );
  });

  it("fails when the image is untagged", () => {
    expect(() => build({ image: "chromadb/chroma" })).toThrow(
      'ChromaStore: image ("chromadb/chroma") has no tag; pin an immutable tag such as "chromadb/chroma:1.0.0" or a digest',
    );
  });

  it("fails when the token comes from AWS Secrets Manager", () => {
    const source = SecretSource.fromAwsSecretsManager(
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-AbCdEf",
    );
    expect(() => build({ token: source })).toThrow(
      "ChromaStore: token (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)",
    );
  });
});
