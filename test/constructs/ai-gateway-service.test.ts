import "../helpers/cdktf-matchers";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { HorizontalPodAutoscalerV2 } from "@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { TerraformStack, Testing } from "cdktf";
import type { Construct } from "constructs";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { AiGatewayService, type AiGatewayServiceProps } from "../../constructs/kubernetes/ai-gateway-service";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { ChromaStore } from "../../constructs/kubernetes/chroma-store";
import { PgvectorDatabase } from "../../constructs/kubernetes/pgvector-database";
import { RedisCache } from "../../constructs/kubernetes/redis-cache";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { all, type Body, container, named, podSpec, synth } from "../helpers/synth";

const IMAGE = "ghcr.io/acme/ai-gateway:1.4.2";

function withData(scope: Construct, props: Partial<AiGatewayServiceProps> = {}): AiGatewayService {
  const namespace = "ai";
  return new AiGatewayService(scope, "Gateway", {
    image: IMAGE,
    namespace,
    environment: "staging",
    aiProvider: "openai",
    aiModel: "gpt-4o-mini",
    aiFallbackProviders: ["claude", "gemini/gemini-1.5-pro"],
    aiTimeoutSeconds: 15,
    aiMaxRetries: 2,
    logLevel: "info",
    cacheEnabled: true,
    dailyBudgetUsd: 250,
    budgetEnforce: true,
    database: new PgvectorDatabase(scope, "Database", { namespace }),
    cache: new RedisCache(scope, "Cache", { namespace }),
    vectorStore: new ChromaStore(scope, "VectorStore", { namespace }),
    secrets: new AppSecrets(scope, "Secrets", { namespace }),
    ...props,
  });
}

function build(props: Partial<AiGatewayServiceProps> = {}): AiGatewayService {
  return new AiGatewayService(new TerraformStack(Testing.app(), "test"), "Gateway", {
    image: IMAGE,
    // Development needs no secrets; the fail-closed tests below cover the other environments.
    environment: "development",
    ...props,
  });
}

describe("AiGatewayService", () => {
  const { text, json } = synth((scope) => {
    withData(scope);
  });
  const deployment = named(json, "kubernetes_deployment_v1", "ai-gateway");
  const gateway = container(deployment);

  it("writes the non-secret settings to a ConfigMap the pods load", () => {
    expect(named(json, "kubernetes_config_map_v1", "ai-gateway-config")["data"]).toEqual({
      ENVIRONMENT: "staging",
      PORT: "8080",
      HOST: "0.0.0.0",
      DATA_DIR: "/var/lib/ai-gateway",
      // Derived from the settings: drain 3 targets × (3 × 15 + 2 × 8), queue close 5, ledger flush 5.
      SHUTDOWN_TIMEOUT_SECONDS: "193",
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o-mini",
      AI_FALLBACK_PROVIDERS: "claude,gemini/gemini-1.5-pro",
      AI_TIMEOUT_SECONDS: "15",
      AI_MAX_RETRIES: "2",
      LOG_LEVEL: "info",
      AI_CACHE_ENABLED: "true",
      AI_DAILY_BUDGET: "250",
      AI_BUDGET_ENFORCE: "true",
      CHROMA_URL: "http://ai-chroma.ai.svc.cluster.local:8000",
    });
    // A reference, so Terraform creates the ConfigMap before the Deployment.
    expect(gateway["env_from"]).toEqual([
      { config_map_ref: { name: expect.stringContaining("kubernetes_config_map_v1.Gateway_Config_") } },
      { secret_ref: { name: "ai-gateway-secrets" } },
    ]);
  });

  it("composes DATABASE_URL and REDIS_URL from Secret-backed variables, never literal passwords", () => {
    expect(gateway["env"]).toEqual([
      {
        name: "PGPASSWORD",
        value_from: { secret_key_ref: { name: "ai-postgres-auth", key: "password" } },
      },
      {
        name: "DATABASE_URL",
        value: "postgres://ai_gateway@ai-postgres.ai.svc.cluster.local:5432/ai_gateway",
      },
      { name: "REDIS_PASSWORD", value_from: { secret_key_ref: { name: "ai-redis-auth", key: "password" } } },
      { name: "REDIS_URL", value: "redis://:$(REDIS_PASSWORD)@ai-redis.ai.svc.cluster.local:6379" },
      { name: "CHROMA_TOKEN", value_from: { secret_key_ref: { name: "ai-chroma-auth", key: "token" } } },
    ]);
  });

  it("lets node-postgres take any Postgres password from PGPASSWORD, URL-unsafe characters included", () => {
    const url = String(
      (gateway["env"] as Body[]).find((entry) => entry["name"] === "DATABASE_URL")?.["value"],
    );
    const password = "p@ss:w/rd#%?&";
    const saved = process.env["PGPASSWORD"];
    process.env["PGPASSWORD"] = password;
    let client: Client;
    try {
      client = new Client({ connectionString: url });
    } finally {
      if (saved === undefined) delete process.env["PGPASSWORD"];
      else process.env["PGPASSWORD"] = saved;
    }
    const params = client as unknown as { user: string; host: string; database: string; password: string };
    expect(params).toMatchObject({
      user: "ai_gateway",
      host: "ai-postgres.ai.svc.cluster.local",
      database: "ai_gateway",
      password,
    });
  });

  it("probes /health/live and /health/ready on port 8080 with a startup probe", () => {
    expect(gateway).toMatchObject({
      port: [{ name: "http", container_port: 8080, protocol: "TCP" }],
      startup_probe: { http_get: { path: "/health/live", port: "http" } },
      liveness_probe: { http_get: { path: "/health/live", port: "http" } },
      readiness_probe: { http_get: { path: "/health/ready", port: "http" } },
    });
  });

  it("has the guide's requests and limits and a locked-down security context", () => {
    expect(gateway).toMatchObject({
      resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "2000m", memory: "2Gi" } },
      security_context: {
        run_as_non_root: true,
        allow_privilege_escalation: false,
        read_only_root_filesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
      },
      volume_mount: [
        { name: "tmp", mount_path: "/tmp" },
        { name: "data", mount_path: "/var/lib/ai-gateway" },
      ],
    });
    expect(podSpec(deployment)).toMatchObject({
      automount_service_account_token: false,
      service_account_name: expect.stringContaining("kubernetes_service_account_v1.Gateway_ServiceAccount_"),
      security_context: { run_as_non_root: true, run_as_user: "10001" },
      topology_spread_constraint: [
        { topology_key: "topology.kubernetes.io/zone", max_skew: 1 },
        { topology_key: "kubernetes.io/hostname", max_skew: 1 },
      ],
    });
    expect(text).toHaveResourceWithProperties(ServiceAccountV1, { automount_service_account_token: false });
  });

  it("lets the HPA own the replica count: no pinned replicas, CPU and memory targets, min and max", () => {
    expect((deployment["spec"] as Body)["replicas"]).toBeUndefined();
    expect(deployment["lifecycle"]).toEqual({ ignore_changes: ["spec[0].replicas"] });
    expect(text).toHaveResourceWithProperties(HorizontalPodAutoscalerV2, {
      spec: expect.objectContaining({
        min_replicas: 2,
        max_replicas: 10,
        scale_target_ref: { api_version: "apps/v1", kind: "Deployment", name: "ai-gateway" },
        metric: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", average_utilization: 70 } },
          },
          {
            type: "Resource",
            resource: { name: "memory", target: { type: "Utilization", average_utilization: 80 } },
          },
        ],
      }),
    });
  });

  it("carries the data services' access labels and allows egress only to DNS, them and HTTPS", () => {
    const labels = (((deployment["spec"] as Body)["template"] as Body)["metadata"] as Body)["labels"];
    expect(labels).toMatchObject({
      "access.ai-deploy-kit.io/ai-postgres": "true",
      "access.ai-deploy-kit.io/ai-redis": "true",
      "access.ai-deploy-kit.io/ai-chroma": "true",
    });
    expect(named(json, "kubernetes_network_policy_v1", "ai-gateway")["spec"]).toEqual({
      pod_selector: {
        match_labels: { "app.kubernetes.io/name": "ai-gateway", "app.kubernetes.io/instance": "ai-gateway" },
      },
      policy_types: ["Ingress", "Egress"],
      // Only the ingress controller's and the monitoring namespace's pods, not the whole cluster.
      ingress: [
        {
          from: [
            { namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
            { namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "monitoring" } } },
          ],
          ports: [{ port: "8080", protocol: "TCP" }],
        },
      ],
      egress: [
        {
          ports: [
            { port: "53", protocol: "UDP" },
            { port: "53", protocol: "TCP" },
          ],
        },
        {
          to: [
            {
              pod_selector: {
                match_labels: {
                  "app.kubernetes.io/name": "postgres",
                  "app.kubernetes.io/instance": "ai-postgres",
                },
              },
            },
          ],
          ports: [{ port: "5432", protocol: "TCP" }],
        },
        {
          to: [
            {
              pod_selector: {
                match_labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "ai-redis" },
              },
            },
          ],
          ports: [{ port: "6379", protocol: "TCP" }],
        },
        {
          to: [
            {
              pod_selector: {
                match_labels: {
                  "app.kubernetes.io/name": "chroma",
                  "app.kubernetes.io/instance": "ai-chroma",
                },
              },
            },
          ],
          ports: [{ port: "8000", protocol: "TCP" }],
        },
        // HTTPS to public addresses only: no pod, node, VPC or metadata ranges.
        {
          to: [
            {
              ip_block: {
                cidr: "0.0.0.0/0",
                except: [
                  "10.0.0.0/8",
                  "172.16.0.0/12",
                  "192.168.0.0/16",
                  "100.64.0.0/10",
                  "127.0.0.0/8",
                  "169.254.0.0/16",
                ],
              },
            },
          ],
          ports: [{ port: "443", protocol: "TCP" }],
        },
      ],
    });
  });

  it("lets an AWS Secrets Manager source reach Pod Identity and IMDS for credentials", () => {
    const aws = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        image: IMAGE,
        secrets: new AppSecrets(scope, "Secrets", {
          source: SecretSource.fromAwsSecretsManager(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:ai-x1",
          ),
        }),
      });
    });
    const egress = (named(aws.json, "kubernetes_network_policy_v1", "ai-gateway")["spec"] as Body)[
      "egress"
    ] as Body[];
    expect(egress).toContainEqual({
      to: [{ ip_block: { cidr: "169.254.170.23/32" } }, { ip_block: { cidr: "169.254.169.254/32" } }],
      ports: [{ port: "80", protocol: "TCP" }],
    });
  });

  it("exposes a Service on 8080 and a disruption budget", () => {
    expect(text).toHaveResourceWithProperties(ServiceV1, {
      metadata: expect.objectContaining({ name: "ai-gateway" }),
      spec: expect.objectContaining({
        selector: { "app.kubernetes.io/name": "ai-gateway", "app.kubernetes.io/instance": "ai-gateway" },
        port: [{ name: "http", port: 8080, target_port: "http", protocol: "TCP" }],
      }),
    });
    expect(named(json, "kubernetes_pod_disruption_budget_v1", "ai-gateway")["spec"]).toMatchObject({
      max_unavailable: "1",
    });
  });

  it("pins replicas and drops the HPA when autoscaling is off", () => {
    const fixed = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        image: IMAGE,
        environment: "development",
        autoscalingEnabled: false,
        replicas: 3,
      });
    });
    expect(all(fixed.json, "kubernetes_horizontal_pod_autoscaler_v2")).toEqual([]);
    expect(fixed.text).toHaveResourceWithProperties(DeploymentV1, {
      spec: expect.objectContaining({ replicas: "3" }),
    });
  });

  it("wires AWS Secrets Manager through AI_SECRETS_ID and the service account annotation", () => {
    const aws = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        image: IMAGE,
        secrets: new AppSecrets(scope, "Secrets", {
          source: SecretSource.fromAwsSecretsManager(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:ai-x1",
            {
              roleArn: "arn:aws:iam::123456789012:role/ai-gateway",
            },
          ),
        }),
      });
    });
    expect(named(aws.json, "kubernetes_config_map_v1", "ai-gateway-config")["data"]).toMatchObject({
      AI_SECRETS_ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ai-x1",
    });
    expect(named(aws.json, "kubernetes_service_account_v1", "ai-gateway")["metadata"]).toMatchObject({
      annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ai-gateway" },
    });
    expect(container(named(aws.json, "kubernetes_deployment_v1", "ai-gateway"))["env_from"]).toEqual([
      { config_map_ref: { name: expect.stringContaining("kubernetes_config_map_v1.") } },
    ]);
  });

  it("fails when minReplicas exceeds maxReplicas", () => {
    expect(() => build({ minReplicas: 5, maxReplicas: 3 })).toThrow(
      "AiGatewayService: minReplicas (5) must not exceed maxReplicas (3)",
    );
  });

  it("fails when the image has no tag", () => {
    expect(() => build({ image: "ghcr.io/acme/ai-gateway" })).toThrow(
      'AiGatewayService: image ("ghcr.io/acme/ai-gateway") has no tag; pin an immutable tag such as "ghcr.io/acme/ai-gateway:1.0.0" or a digest',
    );
  });

  it("fails when a registry port is mistaken for a tag", () => {
    expect(() => build({ image: "registry:5000/ai-gateway" })).toThrow(
      'AiGatewayService: image ("registry:5000/ai-gateway") has no tag',
    );
  });

  it("fails when minReplicas is zero", () => {
    expect(() => build({ minReplicas: 0 })).toThrow(
      "AiGatewayService: minReplicas (0) must be a whole number of at least 1; an HPA needs at least one replica",
    );
  });

  it("fails when replicas is pinned while the HPA owns the count", () => {
    expect(() => build({ replicas: 3 })).toThrow(
      "AiGatewayService: replicas (3) is set while autoscalingEnabled is true; the HPA owns the count, so set minReplicas/maxReplicas or autoscalingEnabled: false",
    );
  });

  it("fails when the port is out of range", () => {
    expect(() => build({ port: 70000 })).toThrow(
      "AiGatewayService: port (70000) must be at most 65535; use for example 8080",
    );
  });

  it("fails when a managed variable is passed as a plain setting", () => {
    expect(() => build({ extraSettings: { DATABASE_URL: "postgres://x" } })).toThrow(
      "AiGatewayService: extraSettings.DATABASE_URL is wired by the construct; pass database, cache, vectorStore or secrets instead",
    );
  });

  it("fails when an extra egress port is out of range", () => {
    expect(() => build({ egressExtraPorts: [11434, 70000] })).toThrow(
      "AiGatewayService: egressExtraPorts contains 70000; each must be a TCP port from 1 to 65535, for example 11434 for Ollama",
    );
    expect(() => build({ egressExtraPorts: [0] })).toThrow("AiGatewayService: egressExtraPorts contains 0;");
    expect(() => build({ egressExtraPorts: [80.5] })).toThrow(
      "AiGatewayService: egressExtraPorts contains 80.5;",
    );
  });

  it("fails when extraSettings carries a secret", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    expect(
      () =>
        new AiGatewayService(stack, "Gateway", {
          image: "ghcr.io/acme/ai-gateway:1.0.0",
          extraSettings: { OPENAI_API_KEY: "sk-live-0123456789abcdef" },
        }),
    ).toThrow(
      "AiGatewayService: extraSettings.OPENAI_API_KEY holds a literal secret-looking value; plain settings are written in clear text to the synthesized output and state, so pass it through secrets (AppSecrets) instead",
    );
    expect(
      () =>
        new AiGatewayService(stack, "Other", {
          image: "ghcr.io/acme/ai-gateway:1.0.0",
          extraSettings: { UPSTREAM_NOTE: "sk-proj-0123456789abcdef" },
        }),
    ).toThrow("AiGatewayService: extraSettings.UPSTREAM_NOTE holds a literal secret-looking value");
  });

  it("fails when a data service lives in another namespace", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const database = new PgvectorDatabase(stack, "Database", { namespace: "data" });
    expect(() => new AiGatewayService(stack, "Gateway", { image: IMAGE, namespace: "ai", database })).toThrow(
      'AiGatewayService: Database is in namespace "data" but the gateway in "ai"; its Secret must be readable by the gateway, so put both in one namespace',
    );
  });

  it("fails when the secrets live in another namespace", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const secrets = new AppSecrets(stack, "Secrets", { namespace: "other" });
    expect(() => new AiGatewayService(stack, "Gateway", { image: IMAGE, namespace: "ai", secrets })).toThrow(
      'AiGatewayService: secrets namespace ("other") differs from namespace ("ai"); pods can only read Secrets in their own namespace',
    );
  });

  it("fails when maxReplicas is zero", () => {
    expect(() => build({ minReplicas: 1, maxReplicas: 0 })).toThrow(
      "AiGatewayService: maxReplicas (0) must be a whole number of at least 1; an HPA needs at least one replica",
    );
  });

  it("fails when fixed replicas are negative", () => {
    expect(() => build({ autoscalingEnabled: false, replicas: -1 })).toThrow(
      "AiGatewayService: replicas (-1) must be a whole number of at least 0; use 0 to park the deployment",
    );
  });

  it("fails when the CPU target is zero", () => {
    expect(() => build({ targetCpuPercent: 0 })).toThrow(
      "AiGatewayService: targetCpuPercent (0) must be a whole number of at least 1; use for example 70",
    );
  });

  it("fails when the memory target is fractional", () => {
    expect(() => build({ targetMemoryPercent: 75.5 })).toThrow(
      "AiGatewayService: targetMemoryPercent (75.5) must be a whole number of at least 1; use for example 80",
    );
  });

  it("fails when the shutdown timeout is negative", () => {
    expect(() => build({ shutdownTimeoutSeconds: -1 })).toThrow(
      "AiGatewayService: shutdownTimeoutSeconds (-1) must be a whole number of at least 0; use for example 25",
    );
  });

  it("fails when the memory limit is not a quantity", () => {
    expect(() => build({ memoryLimit: "2 GB" })).toThrow(
      'AiGatewayService: memoryLimit ("2 GB") is not a positive Kubernetes quantity; use for example "2Gi"',
    );
  });

  it("fails when the tag after the colon is empty", () => {
    expect(() => build({ image: "ghcr.io/acme/ai-gateway:" })).toThrow(
      'AiGatewayService: image ("ghcr.io/acme/ai-gateway:") has no tag; pin an immutable tag such as "ghcr.io/acme/ai-gateway:1.0.0" or a digest',
    );
  });
});
