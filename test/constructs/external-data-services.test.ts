import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { App, TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { ExternalChroma } from "../../constructs/kubernetes/external-chroma";
import { ExternalPostgres } from "../../constructs/kubernetes/external-postgres";
import { ExternalRedis } from "../../constructs/kubernetes/external-redis";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { checkOutdir } from "../../scripts/validate/terraform-check";
import { ENVIRONMENTS, PRODUCTION_MANAGED_DATA_SERVICES } from "../../stacks/environments";
import { EnvironmentStack } from "../../stacks/main";
import { kubernetesSchemaProblems, type StackJson } from "../helpers/kubernetes-schema";
import { all, type Body, container, named, type Synthesized } from "../helpers/synth";
import { itWithTerraform } from "../helpers/terraform";

const RDS = "ai.cluster-abc123.eu-west-1.rds.amazonaws.com";

function managedGateway() {
  const stack = new TerraformStack(Testing.app(), "test");
  new KubernetesProvider(stack, "kubernetes", {});
  const database = new ExternalPostgres(stack, "Database", {
    namespace: "ai",
    host: RDS,
    databaseName: "ai_gateway",
    username: "gateway",
    egressCidrs: ["10.0.0.0/16"],
  });
  const cache = new ExternalRedis(stack, "Cache", {
    namespace: "ai",
    host: "redis.internal.example.com",
    egressCidrs: ["10.1.0.0/24"],
    credentials: SecretSource.fromExistingSecret("redis-auth"),
  });
  const vectorStore = new ExternalChroma(stack, "VectorStore", {
    namespace: "ai",
    host: "chroma.example.com",
    egressCidrs: ["192.0.2.0/24"],
  });
  new AiGatewayService(stack, "Gateway", {
    image: "ghcr.io/acme/ai-gateway:1.0.0",
    namespace: "ai",
    environment: "development",
    database,
    cache,
    vectorStore,
  });
  return JSON.parse(Testing.synth(stack, true)) as Synthesized;
}

describe("managed data services", () => {
  const json = managedGateway();
  const deployment = named(json, "kubernetes_deployment_v1", "ai-gateway");
  const env = container(deployment)["env"] as Body[];
  const value = (name: string) => env.find((entry) => entry["name"] === name);

  it("composes the gateway's URLs from the managed endpoints, with TLS", () => {
    expect(value("DATABASE_URL")).toEqual({
      name: "DATABASE_URL",
      value: `postgres://gateway@${RDS}:5432/ai_gateway?sslmode=require`,
    });
    expect(value("REDIS_URL")?.["value"]).toBe("rediss://:$(REDIS_PASSWORD)@redis.internal.example.com:6379");
    expect(named(json, "kubernetes_config_map_v1", "ai-gateway-config")["data"]).toMatchObject({
      CHROMA_URL: "https://chroma.example.com:443",
    });
  });

  it("reads each password from its Secret: a created one from a required variable, or the user's", () => {
    expect(value("PGPASSWORD")?.["value_from"]).toEqual({
      secret_key_ref: { key: "password", name: "external-postgres-auth" },
    });
    expect(value("REDIS_PASSWORD")?.["value_from"]).toEqual({
      secret_key_ref: { key: "password", name: "redis-auth" },
    });
    expect(all(json, "kubernetes_secret_v1").map((body) => (body["metadata"] as Body)["name"])).toEqual([
      "external-postgres-auth",
      "external-chroma-auth",
    ]);
    expect(json.variable?.["external_postgres_password"]).not.toHaveProperty("default");
    expect(json.variable?.["external_postgres_password"]).toMatchObject({ sensitive: true });
  });

  it("lets the gateway's pods reach each endpoint's ranges on its port, and runs nothing in the cluster", () => {
    const egress = ((named(json, "kubernetes_network_policy_v1", "ai-gateway")["spec"] as Body)["egress"] ??
      []) as Body[];
    expect(egress).toEqual(
      expect.arrayContaining([
        { to: [{ ip_block: { cidr: "10.0.0.0/16" } }], ports: [{ port: "5432", protocol: "TCP" }] },
        { to: [{ ip_block: { cidr: "10.1.0.0/24" } }], ports: [{ port: "6379", protocol: "TCP" }] },
        { to: [{ ip_block: { cidr: "192.0.2.0/24" } }], ports: [{ port: "443", protocol: "TCP" }] },
      ]),
    );
    expect(all(json, "kubernetes_stateful_set_v1")).toEqual([]);
  });

  it("fails on an endpoint it cannot reach or describe", () => {
    const scope = new TerraformStack(Testing.app(), "test");
    const base = { host: RDS, databaseName: "ai", username: "gw", egressCidrs: ["10.0.0.0/16"] };
    expect(() => new ExternalPostgres(scope, "A", { ...base, host: `https://${RDS}` })).toThrow(
      `ExternalPostgres: host ("https://${RDS}") must be a host name or address without scheme or port`,
    );
    expect(() => new ExternalPostgres(scope, "B", { ...base, egressCidrs: [] })).toThrow(
      "ExternalPostgres: egressCidrs is empty; list the address ranges the endpoint lives in",
    );
    expect(() => new ExternalRedis(scope, "C", { host: "r", egressCidrs: ["10.0.0.0/33"] })).toThrow(
      'ExternalRedis: egressCidrs contains "10.0.0.0/33", which is not a CIDR range',
    );
    expect(
      () =>
        new ExternalChroma(scope, "D", {
          host: "c",
          egressCidrs: ["10.0.0.0/8"],
          credentials: SecretSource.fromAwsSecretsManager(
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-gateway",
          ),
        }),
    ).toThrow("ExternalChroma: credentials (SecretSource.fromAwsSecretsManager) is not supported");
  });
});

describe("production with managed Postgres and Redis (environments.ts)", () => {
  const outdir = mkdtempSync(join(tmpdir(), "managed-"));
  const app = new App({ outdir });
  new EnvironmentStack(app, "production", {
    environment: { ...ENVIRONMENTS.production, managedDataServices: PRODUCTION_MANAGED_DATA_SERVICES },
  });
  app.synth();
  const stack = JSON.parse(
    Testing.synth(app.node.findChild("production") as TerraformStack, true),
  ) as Synthesized & StackJson;

  it("keeps Chroma in the cluster and passes the Kubernetes schema check", () => {
    expect(
      all(stack, "kubernetes_stateful_set_v1").map((body) => (body["metadata"] as Body)["name"]),
    ).toEqual(["ai-chroma"]);
    expect(kubernetesSchemaProblems({ production: stack })).toEqual([]);
  }, 120_000);

  itWithTerraform(
    "passes Terraform's check",
    () => {
      const checks = checkOutdir(outdir);
      rmSync(outdir, { recursive: true, force: true });
      expect(checks.map((check) => [check.stack, check.ok, check.detail])).toEqual([
        ["production", true, expect.any(String)],
      ]);
    },
    120_000,
  );
});
