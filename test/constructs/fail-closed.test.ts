import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { App, Aspects, TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { KIT_POLICY_CONTEXT } from "../../constructs/_kit-defaults";
import { AiGatewayService, type AiGatewayServiceProps } from "../../constructs/kubernetes/ai-gateway-service";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { BlueGreenGateway } from "../../constructs/kubernetes/blue-green-gateway";
import { KitPolicy } from "../../constructs/kubernetes/kit-policy";
import { PgvectorDatabase } from "../../constructs/kubernetes/pgvector-database";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { checkOutdir } from "../../scripts/validate/terraform-check";
import type { Body, Synthesized } from "../helpers/synth";
import { itWithTerraform } from "../helpers/terraform";

const IMAGE = "ghcr.io/acme/ai-gateway:1.4.2";

function stack(context: Record<string, string> = {}): TerraformStack {
  const app = Testing.app({ context });
  const scope = new TerraformStack(app, "test");
  new KubernetesProvider(scope, "kubernetes", {});
  return scope;
}

function gateway(props: Partial<AiGatewayServiceProps>, scope = stack()): AiGatewayService {
  return new AiGatewayService(scope, "Gateway", { image: IMAGE, namespace: "ai", ...props });
}

const synthesized = (scope: TerraformStack) => JSON.parse(Testing.synth(scope, true)) as Synthesized;

describe("gateway settings checked at synth by the gateway's own config loader", () => {
  it("fails naming the construct, the prop, the loader's reason and the fix", () => {
    expect(() =>
      gateway({ environment: "development", aiProvider: "openia" as never, aiTimeoutSeconds: -1 }),
    ).toThrow(
      [
        "AiGatewayService (test/Gateway): the gateway would refuse these settings at start:",
        '  - aiProvider (AI_PROVIDER: "openia" is not a provider; use one of openai, claude, gemini, groq, ollama)',
        '  - aiTimeoutSeconds (AI_TIMEOUT_SECONDS: "-1" is not allowed; expected a positive number of seconds)',
        "fix the props named above (the gateway's own config loader, app/config/load-config.ts, checked them)",
      ].join("\n"),
    );
  });

  it("checks extraSettings and fallback models too", () => {
    expect(() =>
      gateway({
        environment: "development",
        aiFallbackProviders: ["claude/"],
        extraSettings: { AI_BREAKER_THRESHOLD: "zero" },
      }),
    ).toThrow(
      /aiFallbackProviders \(AI_FALLBACK_PROVIDERS: "claude\/" has an empty model; write "claude" or "claude\/<model>"\)\n {2}- extraSettings\.AI_BREAKER_THRESHOLD \(AI_BREAKER_THRESHOLD: "zero" is not allowed/,
    );
  });
});

describe("keys the gateway needs are derived and required by the plan", () => {
  const variables = (props: Partial<AiGatewayServiceProps>, keys?: readonly string[]) => {
    const scope = stack();
    const secrets = new AppSecrets(scope, "Secrets", { namespace: "ai", ...(keys ? { keys } : {}) });
    gateway({ ...props, secrets }, scope);
    return { secrets, variable: synthesized(scope).variable ?? {} };
  };

  it("requires the client keys and every routed provider's key in production, whatever AppSecrets was given", () => {
    const { secrets, variable } = variables({
      environment: "production",
      aiProvider: "openai",
      aiFallbackProviders: ["groq"],
    });
    expect(secrets.requiredKeys).toEqual(["GATEWAY_API_KEYS", "OPENAI_API_KEY", "GROQ_API_KEY"]);
    for (const name of ["gateway_api_keys", "openai_api_key", "groq_api_key"]) {
      expect(variable[name], name).not.toHaveProperty("default");
      expect(variable[name]?.["validation"]).toEqual([
        {
          condition: `\${length(var.${name}) > 0}`,
          error_message: `${name} is required: set TF_VAR_${name} (or put it in a tfvars file kept out of git).`,
        },
      ]);
    }
    // Not routed: optional, empty by default.
    expect(variable["claude_api_key"]).toMatchObject({ default: "" });
    expect(variable["claude_api_key"]).not.toHaveProperty("validation");
  });

  it("requires nothing in development", () => {
    const { secrets } = variables({ environment: "development", aiProvider: "openai" });
    expect(secrets.requiredKeys).toEqual([]);
  });

  it("takes the key name AppSecrets holds when a provider has two (ANTHROPIC_API_KEY for claude)", () => {
    const { secrets } = variables({ environment: "staging", aiProvider: "claude", aiFallbackProviders: [] }, [
      "ANTHROPIC_API_KEY",
      "GATEWAY_API_KEYS",
    ]);
    expect(secrets.requiredKeys).toEqual(["GATEWAY_API_KEYS", "ANTHROPIC_API_KEY"]);
  });

  it("reads an existing Secret at plan with a postcondition naming each required key", () => {
    const scope = stack();
    const secrets = new AppSecrets(scope, "Secrets", {
      namespace: "ai",
      source: SecretSource.fromExistingSecret("gateway-keys"),
    });
    gateway({ environment: "staging", aiProvider: "openai", aiFallbackProviders: [], secrets }, scope);
    expect(secrets.requiredKeys).toEqual(["GATEWAY_API_KEYS", "OPENAI_API_KEY"]);
    const read = Object.values(synthesized(scope).data?.["kubernetes_secret_v1"] ?? {});
    expect(read).toEqual([
      expect.objectContaining({
        metadata: { name: "gateway-keys", namespace: "ai" },
        lifecycle: {
          postcondition: ["GATEWAY_API_KEYS", "OPENAI_API_KEY"].map((key) => ({
            condition: `$\{try(self.data["${key}"], "") != ""}`,
            error_message: `Secret gateway-keys in namespace ai lacks required key ${key} (or holds it empty); add ${key} to the Secret before deploying.`,
          })),
        },
      }),
    ]);
    // Read at plan: it must not wait for the namespace resource the kit orders resources after.
    expect(read[0]).not.toHaveProperty("depends_on");
  });

  itWithTerraform(
    "fails the plan on an existing Secret without a required key, naming the key, never a value",
    () => {
      const outdir = mkdtempSync(join(tmpdir(), "existing-secret-"));
      try {
        const app = new App({ outdir });
        const scope = new TerraformStack(app, "keys");
        new KubernetesProvider(scope, "kubernetes", {});
        const secrets = new AppSecrets(scope, "Secrets", {
          namespace: "ai",
          source: SecretSource.fromExistingSecret("gateway-keys"),
        });
        gateway({ environment: "staging", aiProvider: "openai", aiFallbackProviders: [], secrets }, scope);
        app.synth();
        const stackDir = join(outdir, "stacks", "keys");
        expect(checkOutdir(outdir).map((check) => [check.stack, check.ok])).toEqual([["keys", true]]);
        // The kubernetes provider cannot be downloaded here: the same postconditions run on
        // terraform's built-in terraform_data holding the Secret's data as a sensitive map.
        const json = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as Synthesized;
        const read = Object.values(json.data?.["kubernetes_secret_v1"] ?? {})[0] as Body;
        const lifecycle = JSON.parse(
          JSON.stringify(read["lifecycle"]).replaceAll("self.data", "self.output"),
        );
        const dir = join(outdir, "plan");
        mkdirSync(dir);
        writeFileSync(
          join(dir, "main.tf.json"),
          JSON.stringify({
            variable: { data: { type: "map(string)", sensitive: true } },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a terraform reference, not a template
            resource: { terraform_data: { secret: { input: "${var.data}", lifecycle } } },
          }),
        );
        const run = (data: Record<string, string>) =>
          spawnSync("terraform", ["apply", "-auto-approve", "-input=false", "-no-color", "-lock=false"], {
            cwd: dir,
            encoding: "utf8",
            env: {
              PATH: process.env["PATH"] ?? "",
              HOME: dir,
              CHECKPOINT_DISABLE: "1",
              TF_VAR_data: JSON.stringify(data),
            },
          });
        expect(spawnSync("terraform", ["init", "-input=false", "-no-color"], { cwd: dir }).status).toBe(0);
        const missing = run({ GATEWAY_API_KEYS: "client-value-1", OPENAI_API_KEY: "" });
        expect(missing.status).toBe(1);
        expect(missing.stderr).toContain(
          "Secret gateway-keys in namespace ai lacks required key OPENAI_API_KEY (or holds it empty)",
        );
        expect(missing.stderr.match(/Resource postcondition failed/g)).toHaveLength(1);
        expect(missing.stdout + missing.stderr).not.toContain("client-value-1");
        rmSync(join(dir, "terraform.tfstate"), { force: true });
        expect(run({ GATEWAY_API_KEYS: "client-value-1", OPENAI_API_KEY: "sk-value-2" }).status).toBe(0);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it("fails when staging or production has no secrets", () => {
    expect(() => gateway({ environment: "staging", aiProvider: "openai", aiFallbackProviders: [] })).toThrow(
      'AiGatewayService (test/Gateway): in staging the gateway needs GATEWAY_API_KEYS, OPENAI_API_KEY and does not start without them; pass secrets: new AppSecrets(scope, "Secrets", { namespace: "ai" }) (or another SecretSource)',
    );
  });

  it("fails when AppSecrets does not hold a needed key", () => {
    expect(() =>
      variables({ environment: "production", aiProvider: "gemini" }, ["GATEWAY_API_KEYS"]),
    ).toThrow(
      'AiGatewayService (test/Gateway): needs GEMINI_API_KEY, CLAUDE_API_KEY from AppSecrets "test/Secrets", whose keys (GATEWAY_API_KEYS) lack them; add GEMINI_API_KEY, CLAUDE_API_KEY to its keys',
    );
  });
});

describe("names, namespaces and images", () => {
  it("fails when a namespace is not an RFC 1123 label", () => {
    expect(() => gateway({ environment: "development", namespace: "AI_Prod" })).toThrow(
      'AiGatewayService (test/Gateway): namespace ("AI_Prod") must be an RFC 1123 label: lower-case letters, digits and "-", at most 63 characters',
    );
    expect(() => new PgvectorDatabase(stack(), "Database", { namespace: "a".repeat(64) })).toThrow(
      `PgvectorDatabase: namespace ("${"a".repeat(64)}") must be an RFC 1123 label`,
    );
    expect(() => new AppSecrets(stack(), "Secrets", { namespace: "-ai" })).toThrow(
      'AppSecrets: namespace ("-ai") must be an RFC 1123 label',
    );
  });

  it("fails when two gateways share a name in one namespace", () => {
    const scope = stack();
    gateway({ environment: "development" }, scope);
    new AiGatewayService(scope, "Second", { image: IMAGE, namespace: "ai", environment: "development" });
    new AiGatewayService(scope, "Elsewhere", { image: IMAGE, namespace: "ai2", environment: "development" });
    expect(() => Testing.synth(scope, true)).toThrow(
      'AiGatewayService (test/Gateway): a gateway named "ai-gateway" already exists in namespace "ai" (test/Second); give one of them another name',
    );
  });

  it("lets the two slots of one BlueGreenGateway share their name", () => {
    const scope = stack();
    new BlueGreenGateway(scope, "Gateway", {
      namespace: "ai",
      environment: "development",
      imageRepository: "ghcr.io/acme/ai-gateway",
      blueImageTag: "1.0.0",
      greenImageTag: "1.1.0",
    });
    expect(() => Testing.synth(scope, true)).not.toThrow();
  });

  it("fails clearly when a JavaScript caller leaves out image", () => {
    expect(() => new AiGatewayService(stack(), "Gateway", {} as AiGatewayServiceProps)).toThrow(
      'AiGatewayService (test/Gateway): image is required (received undefined); pass the gateway image with an immutable tag, e.g. image: "ghcr.io/acme/ai-gateway:1.4.2"',
    );
  });
});

describe("KitPolicy applies itself", () => {
  const latest = (scope: TerraformStack) =>
    gateway({ environment: "development", image: "ghcr.io/acme/ai-gateway:latest" }, scope);

  it("fails synth without the user adding it", () => {
    const scope = stack();
    latest(scope);
    expect(() => Testing.synth(scope, true)).toThrow(
      'KitPolicy: kubernetes_deployment_v1 "ai-gateway" (test/Gateway/Resource) container "gateway" image "ghcr.io/acme/ai-gateway:latest" uses "latest"; pin an immutable tag or digest',
    );
  });

  it(`warns or stands down through the ${KIT_POLICY_CONTEXT} context`, () => {
    for (const mode of ["warn", "off"]) {
      const scope = stack({ [KIT_POLICY_CONTEXT]: mode });
      latest(scope);
      expect(() => Testing.synth(scope, true), mode).not.toThrow();
    }
  });

  it("gives way to a KitPolicy the user adds", () => {
    const scope = stack();
    latest(scope);
    Aspects.of(scope).add(new KitPolicy({ mode: "warn" }));
    expect(() => Testing.synth(scope, true)).not.toThrow();
  });
});

describe("a namespace passed by name", () => {
  it("orders the kit's resources after the namespace resource the stack creates", () => {
    const scope = stack();
    new NamespaceV1(scope, "Namespace", { metadata: { name: "ai" } });
    new PgvectorDatabase(scope, "Database", { namespace: "ai" });
    new PgvectorDatabase(scope, "Other", { namespace: "elsewhere", name: "other-postgres" });
    const json = synthesized(scope);
    const bodies = Object.entries(json.resource ?? {})
      .filter(([type]) => type !== "kubernetes_namespace_v1")
      .flatMap(([, byName]) =>
        Object.values(byName).map((body) => ({
          namespace: (body["metadata"] as Body)["namespace"],
          dependsOn: body["depends_on"],
        })),
      );
    expect(bodies.filter((body) => body.namespace === "ai").length).toBeGreaterThan(3);
    for (const body of bodies) {
      expect(body.dependsOn).toEqual(
        body.namespace === "ai" ? ["kubernetes_namespace_v1.Namespace"] : undefined,
      );
    }
  });
});
