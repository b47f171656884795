import "../helpers/cdktf-matchers";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { App, Aspects, GcsBackend, type TerraformStack, Testing } from "cdktf";
import { afterAll, describe, expect, it } from "vitest";
import { release } from "../../scripts/release";
import { ENVIRONMENTS, environmentConfig } from "../../stacks/environments";
import {
  buildApp,
  EnvironmentStack,
  type EnvironmentStackProps,
  stackSettingsFromEnv,
} from "../../stacks/main";
import { replicasAfterApply } from "../helpers/promotion";
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
    // The kit's constructs add KitPolicy (and the namespace ordering) themselves; staging and
    // production also get DestroyProtection from their data.
    const aspects = (stack: (typeof app.node.children)[number]) =>
      Aspects.of(stack).all.map((aspect) => aspect.constructor.name);
    const [development, staging, production] = app.node.children;
    expect(aspects(development!)).toHaveLength(2);
    for (const stack of [staging!, production!]) {
      expect(aspects(stack)).toHaveLength(3);
      expect(aspects(stack)).toContain("DestroyProtection");
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
      // null, not ~/.kube/config: the provider then honours KUBE_CONFIG_PATH and in-cluster config.
      for (const variable of ["kubeconfig_path", "kubeconfig_context"]) {
        expect(parse(text).variable?.[variable], variable).toMatchObject({ nullable: true, default: null });
      }
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
    // The development image's source hash follows app/ and would churn the snapshot; its own test checks it.
    const text = JSON.stringify(parse(synth(name)), null, 2).replace(
      /"source_sha256": "[0-9a-f]{64}"/g,
      '"source_sha256": "<sha256 of the gateway sources>"',
    );
    expect(text).toMatchSnapshot();
  });

  it.each(["staging", "production"] as const)(
    "promotes %s without ever leaving the live slot below minReplicas (blue to green and back)",
    (name) => {
      const env = ENVIRONMENTS[name];
      const as = (activeSlot: "blue" | "green") =>
        parse(synth(name, { environment: { ...env, activeSlot } }));
      for (const [from, to] of [
        ["blue", "green"],
        ["green", "blue"],
      ] as const) {
        const before = as(from);
        const after = as(to);
        expect(replicasAfterApply(before, after, `ai-gateway-${to}`)).toBeGreaterThanOrEqual(env.minReplicas);
        // Sized by colour: the demoted slot keeps its pods, ready for a rollback.
        expect(replicasAfterApply(before, after, `ai-gateway-${from}`)).toBe(
          replicasAfterApply(before, before, `ai-gateway-${from}`),
        );
      }
    },
  );

  it.each([
    ["staging", ["gateway_api_keys", "openai_api_key"]],
    ["production", ["gateway_api_keys", "openai_api_key", "claude_api_key"]],
  ] as const)("requires the client keys and the routed providers' keys in %s", (name, required) => {
    const variables = parse(synth(name)).variable ?? {};
    for (const variable of required) {
      expect(variables[variable], variable).not.toHaveProperty("default");
      expect(variables[variable], variable).toMatchObject({
        validation: [expect.objectContaining({ condition: `\${length(var.${variable}) > 0}` })],
      });
    }
    for (const optional of ["groq_api_key", "gemini_api_key", "alert_webhook_url"]) {
      expect(variables[optional], optional).toMatchObject({ default: "" });
    }
  });

  it.each(["staging", "production"] as const)(
    "labels %s's ServiceMonitor and PrometheusRule for the operator's selector",
    (name) => {
      const manifests = all(parse(synth(name)), "kubernetes_manifest").map(
        (body) => body["manifest"] as { kind: string; metadata: { labels: Record<string, string> } },
      );
      // The gateway's rules and the backup-age rules of PostgresBackup.
      expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
        "PrometheusRule",
        "PrometheusRule",
        "ServiceMonitor",
      ]);
      for (const manifest of manifests) {
        expect(manifest.metadata.labels).toMatchObject({ release: "kube-prometheus-stack" });
      }
    },
  );

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
        use_lockfile: true,
      },
    });
  });

  it("uses the backend an environment configures in its data unless TF_BACKEND is set", () => {
    const stateBackend = {
      kind: "configured" as const,
      description: "gcs bucket acme-tfstate",
      create: (stack: TerraformStack, stackId: string) =>
        new GcsBackend(stack, { bucket: "acme-tfstate", prefix: `ai/${stackId}` }),
    };
    const environment = { ...ENVIRONMENTS.staging, stateBackend };
    const app = Testing.app();
    const stack = new EnvironmentStack(app, "staging", { environment });
    expect(parse(Testing.synth(stack, true)).terraform?.["backend"]).toEqual({
      gcs: { bucket: "acme-tfstate", prefix: "ai/staging" },
    });
    // buildApp gives TF_BACKEND's choice precedence over the data; unset, the data's backend stays.
    const original = ENVIRONMENTS.staging;
    (ENVIRONMENTS as Record<string, unknown>)["staging"] = environment;
    try {
      const backends = (env: Record<string, string>) => {
        const built = buildApp({ outdir: mkdtempSync(join(tmpdir(), "backend-")) }, env);
        outdirs.push(built.outdir);
        const staging = built.node.findChild("staging") as TerraformStack;
        return parse(Testing.synth(staging)).terraform?.["backend"];
      };
      expect(Object.keys(backends({}) ?? {})).toEqual(["gcs"]);
      expect(Object.keys(backends({ TF_BACKEND: "s3", TF_STATE_BUCKET: "b" }) ?? {})).toEqual(["s3"]);
    } finally {
      (ENVIRONMENTS as Record<string, unknown>)["staging"] = original;
    }
  });

  it("marks staging and production as requiring remote state, development not", () => {
    expect(ENVIRONMENTS.staging.requireRemoteState).toBe(true);
    expect(ENVIRONMENTS.production.requireRemoteState).toBe(true);
    expect(ENVIRONMENTS.development.requireRemoteState ?? false).toBe(false);
  });

  it("keeps each slot's committed tag across a promotion; a release changes only the idle slot", () => {
    const env = { ...ENVIRONMENTS.production, blueImageTag: "sha-old", greenImageTag: "sha-new" };
    const image = (json: Synthesized, slot: string) =>
      container(named(json, "kubernetes_deployment_v1", `ai-gateway-${slot}`))["image"];
    for (const activeSlot of ["blue", "green"] as const) {
      const json = parse(synth("production", { environment: { ...env, activeSlot } }));
      expect(image(json, "blue")).toBe("ghcr.io/example/ai-gateway:sha-old");
      expect(image(json, "green")).toBe("ghcr.io/example/ai-gateway:sha-new");
    }
    // The release command on the committed data, evaluated as the stack would see it.
    const source = readFileSync(join(__dirname, "../../stacks/environments.ts"), "utf8");
    const released = release(source, "production", "sha-9f8e7d6").source;
    const tagOf = (text: string, slot: string) =>
      new RegExp(`  production: \\{[\\s\\S]*?    ${slot}ImageTag: "([^"]*)",`).exec(text)?.[1];
    const idle = ENVIRONMENTS.production.activeSlot === "blue" ? "green" : "blue";
    expect(tagOf(released, idle)).toBe("sha-9f8e7d6");
    expect(tagOf(released, ENVIRONMENTS.production.activeSlot)).toBe(
      tagOf(source, ENVIRONMENTS.production.activeSlot),
    );
  });

  it("fails when GATEWAY_IMAGE_TAG is set (tags are committed data now)", () => {
    expect(() => stackSettingsFromEnv({ GATEWAY_IMAGE_TAG: "sha-1a2b3c4" })).toThrow(
      "GATEWAY_IMAGE_TAG is not read any more: image tags are committed in stacks/environments.ts; run `npm run release -- --env <environment> --tag <tag>` in a pull request, then deploy without GATEWAY_IMAGE_TAG",
    );
  });

  it('keeps one `activeSlot: "blue"|"green",` line per environment for npm run promote', () => {
    const source = readFileSync(join(__dirname, "../../stacks/environments.ts"), "utf8");
    expect(source.match(/^ {4}activeSlot: "(blue|green)",$/gm)).toHaveLength(3);
  });

  it("never writes deploy-time secret values (TF_VAR_*, process env) into cdktf.out", () => {
    // Synth must not read these at all; a future process.env read would leak them here.
    const canaries = {
      TF_VAR_openai_api_key: "canary-openai-7f3a9c1e5b",
      TF_VAR_claude_api_key: "canary-claude-3e5g7i9k1m",
      TF_VAR_gateway_api_keys: "canary-client-2d8e4f6a0c",
      TF_VAR_ai_postgres_password: "canaryPostgres9b1d3f5h7j",
      TF_VAR_ai_redis_password: "canaryRedis4k6m8p0r2t",
      TF_VAR_ai_chroma_token: "canaryChroma5n7p9r1t3v",
      TF_VAR_ai_dev_postgres_password: "canaryDevPg1q3s5u7w9y",
      TF_VAR_ai_dev_redis_password: "canaryDevRedis2a4c6e8g",
      TF_VAR_ai_dev_chroma_token: "canaryDevChroma3b5d7f9h",
      OPENAI_API_KEY: "sk-canary-environment-0a1b2c3d",
      GATEWAY_API_KEYS: "canary-env-client-key-9z8y",
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
    // Every variable that receives one of those values is sensitive.
    for (const stack of ["development", "staging", "production"]) {
      const json = parse(readFileSync(join(outdir, `stacks/${stack}/cdk.tf.json`), "utf8"));
      const names = Object.keys(json.variable ?? {});
      for (const key of Object.keys(canaries).filter((key) => key.startsWith("TF_VAR_"))) {
        const name = key.slice("TF_VAR_".length);
        if (names.includes(name))
          expect(json.variable?.[name], `${stack} ${name}`).toMatchObject({ sensitive: true });
      }
      for (const [name, variable] of Object.entries(json.variable ?? {})) {
        if (name.startsWith("kubeconfig")) continue;
        expect(variable, `${stack} ${name}`).toMatchObject({ sensitive: true });
      }
    }
  });

  it.each(["development", "staging", "production"] as const)(
    "fails synth, writing nothing, when a secret reaches a plain setting of %s",
    (name) => {
      const canary = "sk-canary0123456789abcdef";
      const env = ENVIRONMENTS[name];
      const leaky = { ...env, gateway: { ...env.gateway, model: canary } };
      const outdir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-leak-"));
      outdirs.push(outdir);
      let message = "";
      try {
        const app = new App({ outdir });
        new EnvironmentStack(app, name, { environment: leaky });
        app.synth();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain(
        env.platform === "docker"
          ? "LocalAiEnvironment: gatewaySettings.AI_MODEL holds a literal secret-looking value"
          : `KitPolicy: kubernetes_config_map_v1 "ai-gateway-${env.activeSlot}-config" (${name}/Gateway/${env.activeSlot === "blue" ? "Blue" : "Green"}/Config) data AI_MODEL holds a literal secret-looking value`,
      );
      expect(message).not.toContain(canary);
      for (const file of filesUnder(outdir)) {
        expect(readFileSync(file, "utf8").includes(canary), file).toBe(false);
      }
    },
  );

  it("keeps tfvars files (they hold the secret values) out of git and the Docker build context", () => {
    const root = join(__dirname, "../..");
    for (const file of ["production.tfvars", "stacks/staging.auto.tfvars.json"]) {
      // Exit 0 means ignored; execFileSync throws on 1.
      expect(() =>
        execFileSync("git", ["check-ignore", "--no-index", "-q", file], { cwd: root }),
      ).not.toThrow();
    }
    const dockerignore = readFileSync(join(root, ".dockerignore"), "utf8").split("\n");
    expect(dockerignore).toEqual(expect.arrayContaining(["*.tfvars", "*.tfvars.json"]));
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
