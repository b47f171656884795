import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  PreflightError,
  type PreflightOptions,
  renderChecklist,
  runPreflight,
} from "../../scripts/preflight/checks";
import { stackVariables } from "../../scripts/preflight/stack-variables";
import { ENVIRONMENTS } from "../../stacks/environments";

/** The committed environments with a real repository instead of the kit's placeholder. */
const OWN_REPOSITORY = Object.fromEntries(
  Object.entries(ENVIRONMENTS).map(([name, config]) => [
    name,
    { ...config, imageRepository: "ghcr.io/acme/ai-gateway" },
  ]),
);

import { FakeSecretsManager } from "../fakes/secrets-manager";
import { itWithTerraform } from "../helpers/terraform";

const projectRoot = resolve(__dirname, "../..");
const SECRET = "ai-gateway/production";
const VALUES = {
  OPENAI_API_KEY: "sk-preflight-openai-value-1",
  CLAUDE_API_KEY: "sk-ant-preflight-claude-value-2",
  GATEWAY_API_KEYS: "client-preflight-value-3",
  ALERT_WEBHOOK_URL: "https://hooks.example.com/preflight-value-4",
};

/** The data services' passwords: variables without a default in the staging and production stacks. */
const DATA_PASSWORDS = {
  TF_VAR_ai_postgres_password: "postgres-password-value",
  TF_VAR_ai_postgres_admin_password: "postgres-admin-password-value",
  TF_VAR_ai_redis_password: "redis-password-value",
  TF_VAR_ai_redis_cache_password: "redis-cache-password-value",
  TF_VAR_ai_chroma_token: "chroma-token-value",
};

/** Staging and production refuse local Terraform state. */
const REMOTE_STATE = { TF_BACKEND: "s3", TF_STATE_BUCKET: "acme-tfstate" };

let fake: FakeSecretsManager;
let productionVariables = 0;

beforeAll(async () => {
  fake = await FakeSecretsManager.start();
  const synthesized = stackVariables("production");
  if (!synthesized.ok) throw new Error(synthesized.problem);
  productionVariables = synthesized.variables.length;
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

/**
 * The keys production's AppSecrets requires (requiredKeys): Terraform variables without a
 * default, set for the deploy whatever else preflight reads the keys from.
 */
const REQUIRED_KEYS = {
  TF_VAR_gateway_api_keys: "required-value-1",
  TF_VAR_openai_api_key: "required-value-2",
  TF_VAR_claude_api_key: "required-value-3",
};

function viaSecretsManager(overrides: Partial<PreflightOptions> = {}): Promise<string> {
  return runPreflight({
    environments: OWN_REPOSITORY,
    environment: "production",
    env: { ...DATA_PASSWORDS, ...REMOTE_STATE, ...REQUIRED_KEYS },
    imageTag: "3f2c1a9e0b7d",
    secretSource: { kind: "aws-secrets-manager", secretId: SECRET },
    awsClientConfig: {
      endpoint: fake.endpoint,
      region: fake.region,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake-secret-access-key" },
    },
    ...overrides,
  }).then(renderChecklist);
}

function line(output: string, name: string): string {
  return output.split("\n").find((entry) => entry.slice(6).startsWith(`${name}:`)) ?? `(no line for ${name})`;
}

describe("preflight against AWS Secrets Manager", () => {
  itWithTerraform("passes every line when the secret holds every key, and prints no value", async () => {
    fake.createSecret(SECRET, VALUES);
    const output = await viaSecretsManager();
    // terraform validate runs where the providers can be downloaded (CI), the init check alone offline.
    const terraform = line(output, "Terraform accepts the stack");
    const values = line(output, "Terraform variable values pass their validation");
    expect(values).toMatch(
      /^PASS {2}Terraform variable values pass their validation: TF_VAR_\w+(, TF_VAR_\w+)* pass \(checked by terraform\)$/,
    );
    expect(values).toContain("TF_VAR_ai_redis_password");
    expect(terraform).toMatch(
      /^PASS {2}Terraform accepts the stack: (terraform validate: valid|configuration accepted by terraform init; providers not downloadable here, terraform validate skipped)$/,
    );
    expect(output).toBe(
      [
        `Preflight for production: namespace ai-production, image ghcr.io/acme/ai-gateway:3f2c1a9e0b7d, secrets from AWS Secrets Manager secret "${SECRET}"`,
        'PASS  environment config validates: stacks/environments.ts "production" and its gateway settings',
        `PASS  stack synthesizes: stack "production" (${productionVariables} Terraform variables)`,
        terraform,
        "PASS  Terraform variables without a default are set: every variable has a default or a TF_VAR_ value",
        values,
        `PASS  provider keys available: openai, claude: found in AWS Secrets Manager secret "${SECRET}"`,
        `PASS  GATEWAY_API_KEYS configured: found in AWS Secrets Manager secret "${SECRET}"`,
        "PASS  image tag immutable: ghcr.io/acme/ai-gateway:3f2c1a9e0b7d",
        "PASS  image repository set: ghcr.io/acme/ai-gateway",
        "PASS  daily budget set: 100 USD a day, enforced",
        `PASS  alert webhook set: found in AWS Secrets Manager secret "${SECRET}"`,
        "PASS  fallback provider configured: claude/claude-3-5-haiku-latest",
        "PASS  Terraform state is remote: S3 bucket acme-tfstate (us-east-1), encrypted, locked by an S3 lockfile",
        "13 passed, 0 failed: ready to deploy production",
        "",
      ].join("\n"),
    );
    expect(fake.requests.map((call) => [call.operation, call.secretId, call.signed])).toEqual([
      ["DescribeSecret", SECRET, true],
      ["GetSecretValue", SECRET, true],
    ]);
  });

  itWithTerraform("fails when the secret does not exist", async () => {
    const output = await viaSecretsManager();
    const problem = `secret "${SECRET}" does not exist in us-east-1; create it (aws secretsmanager create-secret --name ${SECRET} --secret-string file://keys.json) or fix the secret id`;
    expect(line(output, "provider keys available")).toBe(`FAIL  provider keys available: ${problem}`);
    expect(line(output, "GATEWAY_API_KEYS configured")).toBe(`FAIL  GATEWAY_API_KEYS configured: ${problem}`);
    expect(output).toContain("10 passed, 3 failed: fix the failures above before deploying production\n");
  });

  it("fails when the secret lacks one provider key, naming the key and not printing the others", async () => {
    const { CLAUDE_API_KEY: _dropped, ...rest } = VALUES;
    fake.createSecret(SECRET, rest);
    const output = await viaSecretsManager();
    expect(line(output, "provider keys available")).toBe(
      `FAIL  provider keys available: claude needs CLAUDE_API_KEY (or ANTHROPIC_API_KEY), missing from AWS Secrets Manager secret "${SECRET}"; add CLAUDE_API_KEY to the secret's JSON`,
    );
    expect(line(output, "GATEWAY_API_KEYS configured")).toMatch(/^PASS/);
    for (const value of Object.values(VALUES)) expect(output).not.toContain(value);
  });

  it("accepts a key pool and the Anthropic spelling of the Claude key", async () => {
    fake.createSecret(SECRET, {
      OPENAI_API_KEY_1: "sk-pool-1",
      ANTHROPIC_API_KEY: "sk-ant-x",
      GATEWAY_API_KEYS: "k",
      ALERT_WEBHOOK_URL: "https://x",
    });
    const output = await viaSecretsManager();
    expect(line(output, "provider keys available")).toMatch(/^PASS/);
  });

  it("fails when access to the secret is denied", async () => {
    fake.createSecret(SECRET, VALUES);
    fake.deny("GetSecretValue");
    const output = await viaSecretsManager();
    expect(line(output, "provider keys available")).toBe(
      `FAIL  provider keys available: access denied to secret "${SECRET}" (GetSecretValue); grant secretsmanager:DescribeSecret and secretsmanager:GetSecretValue on it to the identity that deploys`,
    );
    expect(output).not.toContain("arn:aws:iam");
  });

  it("fails when the secret is scheduled for deletion or is not a JSON object", async () => {
    fake.createSecret(SECRET, VALUES);
    fake.scheduleDeletion(SECRET);
    expect(line(await viaSecretsManager(), "provider keys available")).toBe(
      `FAIL  provider keys available: secret "${SECRET}" is scheduled for deletion; restore it with aws secretsmanager restore-secret --secret-id ${SECRET}`,
    );
    fake.createSecret(SECRET, "sk-not-json-secret-value");
    const output = await viaSecretsManager();
    expect(line(output, "provider keys available")).toBe(
      `FAIL  provider keys available: secret "${SECRET}" is not a JSON object; store the variables as {"OPENAI_API_KEY": "…", "GATEWAY_API_KEYS": "…"}`,
    );
    expect(output).not.toContain("sk-not-json");
  });
});

describe("preflight reads the stack's AppSecrets", () => {
  const variables = (names: string[]) => names.map((name) => ({ name, hasDefault: true, sensitive: true }));

  it("takes the Terraform variable names AppSecrets declares: upper-case TF_VAR_ names do not reach the gateway", async () => {
    const output = await runPreflight({
      environments: OWN_REPOSITORY,
      environment: "staging",
      env: { ...DATA_PASSWORDS, ...REMOTE_STATE, TF_VAR_OPENAI_API_KEY: "a", TF_VAR_gateway_api_keys: "b" },
      imageTag: "3f2c1a9e0b7d",
    }).then(renderChecklist);
    expect(output.split("\n")[0]).toBe(
      "Preflight for staging: namespace ai-staging, image ghcr.io/acme/ai-gateway:3f2c1a9e0b7d, secrets from the AppSecrets Terraform variables (TF_VAR_*)",
    );
    expect(line(output, "provider keys available")).toBe(
      "FAIL  provider keys available: openai needs OPENAI_API_KEY, missing from the AppSecrets Terraform variables (TF_VAR_*); export TF_VAR_openai_api_key (from your password manager or CI secret) before deploying",
    );
  });

  it("fails when AppSecrets does not carry a key the routes need", async () => {
    const output = await runPreflight({
      environments: OWN_REPOSITORY,
      environment: "staging",
      env: { TF_VAR_gateway_api_keys: "b" },
      imageTag: "3f2c1a9e0b7d",
      synthesize: () => ({
        ok: true,
        variables: variables(["gateway_api_keys"]),
        secrets: {
          kind: "terraform-variables",
          keys: ["GATEWAY_API_KEYS"],
          variableNames: { GATEWAY_API_KEYS: "gateway_api_keys" },
          existingSecretName: undefined,
          arn: undefined,
        },
      }),
    }).then(renderChecklist);
    expect(line(output, "provider keys available")).toBe(
      "FAIL  provider keys available: openai needs OPENAI_API_KEY, missing from the AppSecrets Terraform variables (TF_VAR_*); AppSecrets does not carry OPENAI_API_KEY: add it to its keys in stacks/main.ts",
    );
  });

  it("checks the AWS secret an AppSecrets from Secrets Manager names, through the fake", async () => {
    const arn = fake.createSecret("ai-gateway/staging", { OPENAI_API_KEY: "sk-x", GATEWAY_API_KEYS: "k" });
    const output = await runPreflight({
      environments: OWN_REPOSITORY,
      environment: "staging",
      env: {},
      imageTag: "3f2c1a9e0b7d",
      awsClientConfig: {
        endpoint: fake.endpoint,
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake-secret-access-key" },
      },
      synthesize: () => ({
        ok: true,
        variables: [],
        secrets: {
          kind: "aws-secrets-manager",
          keys: [],
          variableNames: {},
          existingSecretName: undefined,
          arn,
        },
      }),
    }).then(renderChecklist);
    expect(line(output, "provider keys available")).toBe(
      `PASS  provider keys available: openai: found in AWS Secrets Manager secret "${arn}"`,
    );
    expect(fake.requests.map((call) => call.secretId)).toEqual([arn, arn]);
  });

  it("expects the keys in the existing Secret an AppSecrets names", async () => {
    const output = await runPreflight({
      environments: OWN_REPOSITORY,
      environment: "staging",
      env: {},
      imageTag: "3f2c1a9e0b7d",
      synthesize: () => ({
        ok: true,
        variables: [],
        secrets: {
          kind: "existing-secret",
          keys: ["OPENAI_API_KEY", "GATEWAY_API_KEYS"],
          variableNames: {},
          existingSecretName: "gateway-keys",
          arn: undefined,
        },
      }),
    }).then(renderChecklist);
    expect(line(output, "GATEWAY_API_KEYS configured")).toBe(
      'PASS  GATEWAY_API_KEYS configured: expected in the existing Kubernetes Secret "gateway-keys"',
    );
  });
});

describe("preflight checks", () => {
  const fromTerraform = (env: Record<string, string>, overrides: Partial<PreflightOptions> = {}) =>
    runPreflight({
      environment: "production",
      env,
      imageTag: "3f2c1a9e0b7d",
      environments: OWN_REPOSITORY,
      ...overrides,
    }).then(renderChecklist);
  // The exact variable names the stacks' AppSecrets declares.
  const allVariables = {
    ...DATA_PASSWORDS,
    ...REMOTE_STATE,
    TF_VAR_openai_api_key: "a",
    TF_VAR_claude_api_key: "b",
    TF_VAR_gateway_api_keys: "c",
    ALERT_WEBHOOK_URL: "https://hooks.example.com/x",
  };

  it("finds keys in Terraform variables and fails on a mutable or empty image tag", async () => {
    const latest = await fromTerraform(allVariables, { imageTag: "latest" });
    expect(line(latest, "provider keys available")).toBe(
      "PASS  provider keys available: openai, claude: found in the AppSecrets Terraform variables (TF_VAR_*)",
    );
    expect(line(latest, "image tag immutable")).toBe(
      'FAIL  image tag immutable: the image tag "latest" moves between builds; release an immutable tag such as the one CI pushed for the commit (npm run release -- --env <environment> --tag sha-$(git rev-parse --short=12 HEAD))',
    );
    const empty = await fromTerraform(allVariables, { imageTag: "" });
    expect(line(empty, "image tag immutable")).toBe(
      'FAIL  image tag immutable: the image tag is empty; use the tag CI pushed for the commit (sha-<12 hex>, for example "sha-3f2c1a9e0b7d")',
    );
    // GATEWAY_IMAGE_TAG is not read any more (tags are committed): a stray one fails, naming the fix.
    const fromEnv = await runPreflight({
      environments: OWN_REPOSITORY,
      environment: "staging",
      env: { ...allVariables, GATEWAY_IMAGE_TAG: "sha-3f2c1a9e0b7d" },
    }).then(renderChecklist);
    expect(line(fromEnv, "image tag immutable")).toBe(
      "FAIL  image tag immutable: GATEWAY_IMAGE_TAG is set but not read any more (synth refuses it): unset it; image tags are committed in stacks/environments.ts (npm run release -- --env <environment> --tag <tag>)",
    );
  });

  it("fails when a key AppSecrets requires is unset, naming the key", async () => {
    const { TF_VAR_gateway_api_keys: _dropped, ...rest } = allVariables;
    const output = await fromTerraform(rest, { environment: "staging" });
    expect(line(output, "Terraform variables without a default are set")).toBe(
      "FAIL  Terraform variables without a default are set: export TF_VAR_gateway_api_keys (terraform would stop and ask for them; AppSecrets requires GATEWAY_API_KEYS: the gateway does not start without them)",
    );
  });

  it("fails when staging has no GATEWAY_API_KEYS", async () => {
    const { TF_VAR_gateway_api_keys: _dropped, ...rest } = allVariables;
    const output = await fromTerraform(rest, { environment: "staging" });
    expect(line(output, "GATEWAY_API_KEYS configured")).toBe(
      "FAIL  GATEWAY_API_KEYS configured: required in staging, missing from the AppSecrets Terraform variables (TF_VAR_*); export TF_VAR_gateway_api_keys (from your password manager or CI secret) before deploying",
    );
    expect(output).not.toContain("fallback provider configured");
  });

  it("fails when production has no budget, no alert webhook and no fallback provider", async () => {
    const production = ENVIRONMENTS.production;
    const output = await fromTerraform(
      { ...DATA_PASSWORDS, ...REMOTE_STATE, TF_VAR_openai_api_key: "a", TF_VAR_gateway_api_keys: "c" },
      {
        environments: {
          ...ENVIRONMENTS,
          production: {
            ...production,
            // A fallback on the primary's own provider does not survive that provider's outage.
            gateway: {
              ...production.gateway,
              dailyBudgetUsd: 0,
              fallbacks: [{ provider: "openai", model: "gpt-4o-mini" }],
            },
          },
        },
      },
    );
    expect(line(output, "daily budget set")).toBe(
      "FAIL  daily budget set: the daily budget is 0; set gateway.dailyBudgetUsd in stacks/environments.ts",
    );
    expect(line(output, "alert webhook set")).toBe(
      "FAIL  alert webhook set: budget, breaker and failover alerts would only be logged; set ALERT_WEBHOOK_URL (export TF_VAR_alert_webhook_url (from your password manager or CI secret) before deploying)",
    );
    expect(line(output, "fallback provider configured")).toBe(
      "FAIL  fallback provider configured: production needs a fallback on another provider; add one to gateway.fallbacks in stacks/environments.ts",
    );
    expect(line(output, "provider keys available")).toMatch(/^PASS/);
  });

  it("fails when the environment config is invalid, naming each problem", async () => {
    const staging = ENVIRONMENTS.staging;
    const output = await fromTerraform(allVariables, {
      environment: "staging",
      environments: {
        ...ENVIRONMENTS,
        staging: {
          ...staging,
          minReplicas: 5,
          maxReplicas: 2,
          gateway: { ...staging.gateway, timeoutSeconds: -1 },
        },
      },
    });
    expect(line(output, "environment config validates")).toBe(
      'FAIL  environment config validates: fix in stacks/environments.ts or the config file: minReplicas (5) must not exceed maxReplicas (2); AI_TIMEOUT_SECONDS: "-1" is not allowed; expected a positive number of seconds',
    );
  });

  it("fails when the active slot is parked or a slot pins a mutable tag", async () => {
    const staging = ENVIRONMENTS.staging;
    const output = await fromTerraform(allVariables, {
      environment: "staging",
      environments: {
        ...ENVIRONMENTS,
        staging: { ...staging, activeSlot: "green", greenReplicas: 0, blueImageTag: "latest" },
      },
    });
    expect(line(output, "environment config validates")).toBe(
      "FAIL  environment config validates: fix in stacks/environments.ts or the config file: the active slot (green) is parked (greenReplicas: 0); scale it before it takes traffic",
    );
    expect(line(output, "image tag immutable")).toBe(
      'FAIL  image tag immutable: blueImageTag: the image tag "latest" moves between builds; release an immutable tag such as the one CI pushed for the commit (npm run release -- --env <environment> --tag sha-$(git rev-parse --short=12 HEAD))',
    );
  });

  it("fails when an alert webhook is not https, without printing it", async () => {
    const output = await fromTerraform({
      ...allVariables,
      ALERT_WEBHOOK_URL: "http://hooks.example.com/token-xyz",
    });
    expect(line(output, "alert webhook set")).toBe(
      "FAIL  alert webhook set: ALERT_WEBHOOK_URL is not an https URL; use the https endpoint of your alerting tool",
    );
    expect(output).not.toContain("token-xyz");
  });

  it("trusts an existing Kubernetes Secret by name and says how to verify it", async () => {
    const output = await fromTerraform(
      { ALERT_WEBHOOK_URL: "https://hooks.example.com/x" },
      { secretSource: { kind: "existing-secret", name: "gateway-keys" } },
    );
    expect(line(output, "provider keys available")).toBe(
      `PASS  provider keys available: OPENAI_API_KEY, CLAUDE_API_KEY expected in the existing Kubernetes Secret "gateway-keys" (the cluster is not checked from here: kubectl -n ai-production get secret gateway-keys -o jsonpath='{.data}')`,
    );
  });

  it("fails when the stack does not synthesize or a variable without a default is unset", async () => {
    const broken = await fromTerraform(allVariables, {
      synthesize: () => ({ ok: false, problem: "KitPolicy: container gateway runs as root" }),
    });
    expect(line(broken, "stack synthesizes")).toBe(
      "FAIL  stack synthesizes: KitPolicy: container gateway runs as root; run npm run synth to see the whole error",
    );
    const unset = await fromTerraform(allVariables, {
      synthesize: () => ({
        ok: true,
        variables: [
          { name: "kubeconfig_path", hasDefault: true, sensitive: false },
          { name: "postgres_password", hasDefault: false, sensitive: true },
          { name: "redis_password", hasDefault: false, sensitive: true },
        ],
      }),
    });
    expect(line(unset, "Terraform variables without a default are set")).toBe(
      "FAIL  Terraform variables without a default are set: export TF_VAR_postgres_password, TF_VAR_redis_password (terraform would stop and ask for them)",
    );
  });

  it("requires the exact Terraform variable name the stack declares", async () => {
    const declared = {
      ok: true as const,
      variables: ["openai_api_key", "claude_api_key", "gateway_api_keys", "alert_webhook_url"].map(
        (name) => ({
          name,
          hasDefault: true,
          sensitive: true,
        }),
      ),
    };
    const upper = await fromTerraform(
      { TF_VAR_OPENAI_API_KEY: "a", TF_VAR_CLAUDE_API_KEY: "b", TF_VAR_GATEWAY_API_KEYS: "c" },
      { synthesize: () => declared },
    );
    expect(line(upper, "provider keys available")).toBe(
      "FAIL  provider keys available: openai needs OPENAI_API_KEY, missing from Terraform variables (TF_VAR_*); export TF_VAR_openai_api_key (from your password manager or CI secret) before deploying; claude needs CLAUDE_API_KEY (or ANTHROPIC_API_KEY), missing from Terraform variables (TF_VAR_*); export TF_VAR_claude_api_key (from your password manager or CI secret) before deploying",
    );
    const lower = await fromTerraform(
      {
        ...REMOTE_STATE,
        TF_VAR_openai_api_key: "a",
        TF_VAR_claude_api_key: "b",
        TF_VAR_gateway_api_keys: "c",
        TF_VAR_alert_webhook_url: "https://x",
      },
      { synthesize: () => declared },
    );
    expect(lower.split("\n").filter((entry) => entry.startsWith("FAIL"))).toEqual([]);
  });

  it("fails when the environment is unknown", async () => {
    await expect(runPreflight({ environment: "qa", env: {} })).rejects.toThrow(
      new PreflightError('unknown environment "qa"; use one of development, staging, production'),
    );
  });
});

describe("preflight checks values the way Terraform will", () => {
  itWithTerraform(
    "fails a TF_VAR_ value its variable's validation refuses, naming the rule and never the value",
    async () => {
      const output = await runPreflight({
        environment: "production",
        env: { ...DATA_PASSWORDS, ...REQUIRED_KEYS, TF_VAR_ai_redis_password: "x" },
        imageTag: "3f2c1a9e0b7d",
        environments: OWN_REPOSITORY,
        secretSource: { kind: "terraform-variables" },
      }).then(renderChecklist);
      expect(line(output, "Terraform variable values pass their validation")).toBe(
        "FAIL  Terraform variable values pass their validation: TF_VAR_ai_redis_password: ai_redis_password must be at least 16 URL-safe characters (letters, digits, . _ ~ -).",
      );
      expect(output).not.toMatch(/"x"|= x\b/);
    },
    60_000,
  );

  it("fails the kit's placeholder repository in staging and production", async () => {
    const output = await runPreflight({
      environment: "production",
      env: { ...DATA_PASSWORDS, ...REQUIRED_KEYS },
      imageTag: "3f2c1a9e0b7d",
    }).then(renderChecklist);
    expect(line(output, "image repository set")).toBe(
      `FAIL  image repository set: imageRepository "ghcr.io/example/ai-gateway" is the kit's placeholder; set your registry's repository for production in stacks/environments.ts`,
    );
  });
});

describe("preflight command", () => {
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        join(projectRoot, "node_modules/.bin/tsx"),
        [join(projectRoot, "scripts/preflight.ts"), ...args],
        { cwd: projectRoot, env: { PATH: process.env["PATH"] ?? "", ...env } },
        (error, stdout, stderr) => done({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });

  itWithTerraform("exits 1 when a check fails, the kit's placeholder repository included", async () => {
    const [failing, passing] = await Promise.all([
      cli(["--env", "staging", "--image-tag", "latest"], {
        ...DATA_PASSWORDS,
        ...REMOTE_STATE,
        TF_VAR_openai_api_key: "a",
        TF_VAR_gateway_api_keys: "b",
      }),
      cli(["--env", "staging", "--image-tag", "3f2c1a9e0b7d"], {
        ...DATA_PASSWORDS,
        ...REMOTE_STATE,
        TF_VAR_openai_api_key: "a",
        TF_VAR_gateway_api_keys: "b",
      }),
    ]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain(
      'FAIL  image tag immutable: the image tag "latest" moves between builds',
    );
    // The committed environments name the kit's placeholder repository: the one failure left.
    expect(passing.code).toBe(1);
    expect(passing.stdout.split("\n").filter((entry) => entry.startsWith("FAIL"))).toEqual([
      `FAIL  image repository set: imageRepository "ghcr.io/example/ai-gateway" is the kit's placeholder; set your registry's repository for staging in stacks/environments.ts`,
    ]);
    expect(passing.stdout).toContain("9 passed, 1 failed: fix the failures above before deploying staging\n");
  });
});

describe("preflight refuses local Terraform state for staging and production", () => {
  const env = {
    ...DATA_PASSWORDS,
    TF_VAR_openai_api_key: "a",
    TF_VAR_claude_api_key: "b",
    TF_VAR_gateway_api_keys: "c",
    TF_VAR_alert_webhook_url: "https://x",
  };
  const run = (
    environment: string,
    extra: Record<string, string>,
    overrides: Partial<PreflightOptions> = {},
  ) =>
    runPreflight({ environment, env: { ...env, ...extra }, imageTag: "3f2c1a9e0b7d", ...overrides }).then(
      renderChecklist,
    );

  it.each(["staging", "production"])(
    "fails when %s would keep its state in a local file, saying how to fix it",
    async (name) => {
      for (const extra of [{}, { TF_BACKEND: "local" }, { TF_BACKEND: "" }] as Record<string, string>[]) {
        expect(line(await run(name, extra), "Terraform state is remote")).toBe(
          `FAIL  Terraform state is remote: ${name} keeps its Terraform state remotely (it holds every secret value and every object the stack owns; a local file on a CI runner is thrown away and the next deploy starts from nothing): set TF_BACKEND=s3 and TF_STATE_BUCKET (TF_STATE_REGION, TF_STATE_KEY_PREFIX; locking uses an S3 lockfile, TF_STATE_DYNAMODB_TABLE adds a DynamoDB lock) or configure stateBackend in stacks/environments.ts; docs/operations.md section 'Terraform state'`,
        );
      }
    },
  );

  it("fails when TF_BACKEND=s3 has no bucket, naming the variable", async () => {
    expect(line(await run("production", { TF_BACKEND: "s3" }), "Terraform state is remote")).toBe(
      "FAIL  Terraform state is remote: TF_STATE_BUCKET: missing; required when TF_BACKEND=s3 (the state bucket's name)",
    );
  });

  it("accepts S3 with a DynamoDB lock and a backend configured in stacks/environments.ts", async () => {
    expect(
      line(
        await run("staging", {
          ...REMOTE_STATE,
          TF_STATE_DYNAMODB_TABLE: "tf-locks",
          TF_STATE_REGION: "eu-west-1",
        }),
        "Terraform state is remote",
      ),
    ).toBe(
      "PASS  Terraform state is remote: S3 bucket acme-tfstate (eu-west-1), encrypted, locked by an S3 lockfile and DynamoDB table tf-locks",
    );
    const configured = {
      ...ENVIRONMENTS,
      staging: {
        ...ENVIRONMENTS.staging,
        stateBackend: {
          kind: "configured" as const,
          description: "gcs bucket acme-tfstate",
          create: () => {
            throw new Error("preflight does not create the backend");
          },
        },
      },
    };
    expect(line(await run("staging", {}, { environments: configured }), "Terraform state is remote")).toBe(
      "PASS  Terraform state is remote: gcs bucket acme-tfstate",
    );
  });

  it("lets development keep local state (no state line)", async () => {
    expect(await run("development", {})).not.toContain("Terraform state");
  });
});
