import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { Aspects, Testing } from "cdktf";
import { afterAll, describe, expect, it } from "vitest";
import { KitPolicy } from "../../constructs/kubernetes/kit-policy";
import { ENVIRONMENTS, environmentConfig } from "../../stacks/environments";
import {
  buildApp,
  EnvironmentStack,
  type EnvironmentStackProps,
  stackSettingsFromEnv,
} from "../../stacks/main";
import { all, type Body, container, named, type Synthesized, tfVar } from "../helpers/synth";

type Name = "development" | "staging" | "production";

function synth(name: Name, props: Partial<EnvironmentStackProps> = {}): string {
  const app = Testing.app();
  const stack = new EnvironmentStack(app, name, { environment: ENVIRONMENTS[name], ...props });
  return Testing.synth(stack, true);
}

const parse = (text: string) => JSON.parse(text) as Synthesized;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("stacks", () => {
  const outdirs: string[] = [];
  afterAll(() => {
    for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
  });

  it("builds one stack per environment", () => {
    const app = buildApp({ outdir: Testing.app().outdir }, {});
    expect(app.node.children.map((child) => child.node.id)).toEqual(["development", "staging", "production"]);
    for (const stack of app.node.children) {
      expect(Aspects.of(stack).all.some((aspect) => aspect instanceof KitPolicy)).toBe(true);
    }
  });

  it("deploys development with the Docker provider and the local environment", () => {
    const text = synth("development");
    expect(text).toHaveProvider(DockerProvider);
    const gateway = all(parse(text), "docker_container").find((body) => body["name"] === "ai-dev-gateway");
    expect(gateway?.["env"]).toEqual(
      expect.arrayContaining([
        "ENVIRONMENT=development",
        "AI_PROVIDER=ollama",
        "AI_MODEL=llama3.2:3b",
        "LOG_LEVEL=debug",
      ]),
    );
  });

  it.each(["staging", "production"] as const)(
    "deploys %s with the Kubernetes provider into its namespace",
    (name) => {
      const text = synth(name);
      expect(text).toHaveProviderWithProperties(KubernetesProvider, {
        config_path: tfVar("kubeconfig_path"),
        config_context: tfVar("kubeconfig_context"),
      });
      expect(text).toHaveResourceWithProperties(NamespaceV1, {
        metadata: expect.objectContaining({ name: ENVIRONMENTS[name].namespace }),
      });
      const json = parse(text);
      const config = named(
        json,
        "kubernetes_config_map_v1",
        `ai-gateway-${ENVIRONMENTS[name].activeSlot}-config`,
      );
      expect(config["data"]).toMatchObject({
        ENVIRONMENT: name,
        AI_PROVIDER: ENVIRONMENTS[name].gateway.provider,
        AI_MODEL: ENVIRONMENTS[name].gateway.model,
        AI_TIMEOUT_SECONDS: String(ENVIRONMENTS[name].gateway.timeoutSeconds),
      });
      const hpa = all(json, "kubernetes_horizontal_pod_autoscaler_v2")[0]?.["spec"] as Body;
      expect(hpa).toMatchObject({
        min_replicas: ENVIRONMENTS[name].minReplicas,
        max_replicas: ENVIRONMENTS[name].maxReplicas,
      });
    },
  );

  it.each(["development", "staging", "production"] as const)("synthesizes %s as recorded", (name) => {
    expect(JSON.stringify(parse(synth(name)), null, 2)).toMatchSnapshot();
  });

  it("keeps state locally by default and in S3 when TF_BACKEND=s3", () => {
    expect(parse(synth("staging")).terraform?.["backend"]).toEqual({
      local: { path: "../../../terraform.staging.tfstate" },
    });
    const { backend } = stackSettingsFromEnv({
      TF_BACKEND: "s3",
      TF_STATE_BUCKET: "acme-tfstate",
      TF_STATE_REGION: "eu-west-1",
      TF_STATE_DYNAMODB_TABLE: "tf-locks",
    });
    expect(parse(synth("production", { backend })).terraform?.["backend"]).toEqual({
      s3: {
        bucket: "acme-tfstate",
        key: "ai-deploy-kit/production.tfstate",
        region: "eu-west-1",
        encrypt: true,
        dynamodb_table: "tf-locks",
      },
    });
  });

  it("deploys CI's GATEWAY_IMAGE_TAG to the idle slot on Kubernetes and to the local gateway", () => {
    const { imageTag } = stackSettingsFromEnv({ GATEWAY_IMAGE_TAG: "sha-1a2b3c4" });
    expect(imageTag).toBe("sha-1a2b3c4");
    const staging = parse(synth("staging", { imageTag }));
    const active = ENVIRONMENTS.staging.activeSlot;
    const idle = active === "blue" ? "green" : "blue";
    expect(container(named(staging, "kubernetes_deployment_v1", `ai-gateway-${idle}`))["image"]).toBe(
      "ghcr.io/example/ai-gateway:sha-1a2b3c4",
    );
    expect(container(named(staging, "kubernetes_deployment_v1", `ai-gateway-${active}`))["image"]).toBe(
      `ghcr.io/example/ai-gateway:${ENVIRONMENTS.staging[`${active}ImageTag`]}`,
    );
    const development = parse(synth("development", { imageTag }));
    expect(all(development, "docker_image").map((image) => image["name"])).toContain(
      "ai-deploy-kit/gateway:sha-1a2b3c4",
    );
  });

  it('keeps one `activeSlot: "blue"|"green",` line per environment for npm run promote', () => {
    const source = readFileSync(join(__dirname, "../../stacks/environments.ts"), "utf8");
    expect(source.match(/^ {4}activeSlot: "(blue|green)",$/gm)).toHaveLength(3);
  });

  it("never writes secret values into cdktf.out", () => {
    const canaries = {
      TF_VAR_openai_api_key: "canary-openai-7f3a9c1e5b",
      TF_VAR_gateway_api_keys: "canary-client-2d8e4f6a0c",
      TF_VAR_ai_postgres_password: "canaryPostgres9b1d3f5h7j",
      TF_VAR_ai_redis_password: "canaryRedis4k6m8p0r2t",
      TF_VAR_ai_dev_postgres_password: "canaryDevPg1q3s5u7w9y",
      OPENAI_API_KEY: "sk-canary-environment-0a1b2c3d",
      DATABASE_URL: "postgres://ai:canaryDbUrlPass42@db:5432/ai",
      REDIS_URL: "redis://:canaryRedisUrlPass42@redis:6379",
    };
    const saved = { ...process.env };
    Object.assign(process.env, canaries);
    const outdir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-canary-"));
    outdirs.push(outdir);
    try {
      buildApp({ outdir }, process.env).synth();
    } finally {
      for (const key of Object.keys(canaries)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    const files = filesUnder(outdir);
    expect(files.filter((file) => file.endsWith("cdk.tf.json"))).toHaveLength(3);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const value of Object.values(canaries))
        expect(text.includes(value), `${value} in ${file}`).toBe(false);
      expect(text).not.toMatch(/canary/i);
    }
    const production = parse(readFileSync(join(outdir, "stacks/production/cdk.tf.json"), "utf8"));
    for (const [name, variable] of Object.entries(production.variable ?? {})) {
      if (name.startsWith("kubeconfig")) continue;
      expect(variable, name).toMatchObject({ sensitive: true });
    }
  });

  it("fails when GATEWAY_IMAGE_TAG is not a tag", () => {
    expect(() => stackSettingsFromEnv({ GATEWAY_IMAGE_TAG: "v1 beta" })).toThrow(
      'GATEWAY_IMAGE_TAG ("v1 beta") is not a valid image tag; use letters, digits, "_", "." and "-", for example "sha-1a2b3c4"',
    );
  });

  it("fails when TF_BACKEND names an unknown backend", () => {
    expect(() => stackSettingsFromEnv({ TF_BACKEND: "gcs" })).toThrow(
      'TF_BACKEND ("gcs") is not a backend; use local or s3',
    );
  });

  it("fails when the S3 backend has no bucket", () => {
    expect(() => stackSettingsFromEnv({ TF_BACKEND: "s3" })).toThrow(
      "TF_STATE_BUCKET: missing; required when TF_BACKEND=s3 (the state bucket's name)",
    );
  });

  it("fails when an environment name is unknown", () => {
    expect(() => environmentConfig("qa")).toThrow(
      'unknown environment "qa"; use one of development, staging, production',
    );
  });
});
