import { SecretsManagerClient, type SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import { ENVIRONMENT_NAMES, PROVIDER_KEY_VARIABLES, type ProviderName } from "../../app/config/defaults";
import { ConfigError, type GatewayConfig, loadConfig } from "../../app/config/load-config";
import { ENVIRONMENTS, type EnvironmentConfig } from "../../stacks/environments";
import { stackSettingsFromEnv } from "../../stacks/main";
import { backendChosenInEnv, localStateProblem } from "../../stacks/state-backend";
import { ValidateError } from "../validate/terraform-check";
import { imageTagProblem } from "./image-tag";
import { readSecretKeys, type SecretKeys } from "./secrets-manager";
import {
  type GatewaySecrets,
  type StackVariable,
  type StackVariables,
  stackVariables,
} from "./stack-variables";
import { type VariableValueCheck, variableValueProblems } from "./variable-values";

type Env = Readonly<Record<string, string | undefined>>;

/** Where the gateway's secret variables (provider keys, client keys, webhook) come from at deploy time. */
export type SecretSourceSpec =
  | {
      readonly kind: "terraform-variables";
      /** Each key's variable name, as the stack's AppSecrets declares it; unset: any case of the key. */
      readonly variableNames?: Readonly<Record<string, string>>;
    }
  | { readonly kind: "existing-secret"; readonly name: string }
  | { readonly kind: "aws-secrets-manager"; readonly secretId: string; readonly region?: string };

/** One line of the checklist. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Why it passed or what to do; never a secret value. */
  readonly detail: string;
}

/** Options of {@link runPreflight}. */
export interface PreflightOptions {
  readonly environment: string;
  /** Where TF_VAR_*, ALERT_WEBHOOK_URL and AI_CONFIG_FILE are read (and a stray GATEWAY_IMAGE_TAG refused). @default process.env */
  readonly env?: Env;
  /** @default terraform variables, or AWS Secrets Manager when AI_SECRETS_ID is set */
  readonly secretSource?: SecretSourceSpec;
  /**
   * A tag to check besides the committed ones (for example the build about to be released).
   * @default - the preview (idle) slot's committed tag on Kubernetes, the environment's imageTag on Docker
   */
  readonly imageTag?: string;
  /** The environments to check. @default ENVIRONMENTS of stacks/environments.ts */
  readonly environments?: Readonly<Record<string, EnvironmentConfig>>;
  /** Extra SDK client settings (tests point `endpoint` at a fake). */
  readonly awsClientConfig?: SecretsManagerClientConfig;
  /** Checks TF_VAR_* values against the variables' validation. @default terraform itself (variable-values.ts) */
  readonly checkVariableValues?: (variables: readonly StackVariable[], env: Env) => VariableValueCheck;
  /** Synthesizes the stack and lists its Terraform variables. @default the real stacks (stack-variables.ts) */
  readonly synthesize?: (stack: string) => StackVariables;
}

export { imageTagProblem } from "./image-tag";

/** The outcome: the checklist and what it was about. */
export interface PreflightReport {
  readonly environment: string;
  readonly heading: string;
  readonly results: readonly CheckResult[];
  readonly ok: boolean;
}

/** Thrown for input preflight cannot check at all (an unknown environment). */
export class PreflightError extends Error {
  override readonly name = "PreflightError";
}

/** The variables that carry each provider's key; the first is the one to add when missing. */
const KEY_VARIABLES = PROVIDER_KEY_VARIABLES;

/** The repository the kit ships with; no cluster can pull it. */
const PLACEHOLDER_REPOSITORY = /^(ghcr\.io|docker\.io)\/example\//;

const nonEmpty = (value: string | undefined): boolean => value !== undefined && value.trim() !== "";

/** The gateway variables an environment's stack sets, as loadConfig reads them. */
export function gatewayVariables(config: EnvironmentConfig): Record<string, string> {
  const gateway = config.gateway;
  return {
    ENVIRONMENT: config.name,
    AI_PROVIDER: gateway.provider,
    AI_MODEL: gateway.model,
    AI_FALLBACK_PROVIDERS: gateway.fallbacks.map((target) => `${target.provider}/${target.model}`).join(","),
    AI_TIMEOUT_SECONDS: String(gateway.timeoutSeconds),
    AI_MAX_RETRIES: String(gateway.maxRetries),
    LOG_LEVEL: gateway.logLevel,
    AI_CACHE_ENABLED: String(gateway.cachingEnabled),
    AI_CACHE_TTL_SECONDS: String(gateway.cacheTtlSeconds),
    AI_MONITORING_ENABLED: String(gateway.monitoringEnabled),
    AI_DAILY_BUDGET: String(gateway.dailyBudgetUsd),
    AI_BUDGET_ENFORCE: String(gateway.budgetEnforce),
  };
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const FACTORS: Readonly<Record<string, number>> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
const quantity = (value: string): number | undefined => {
  const match = QUANTITY.exec(value);
  return match ? Number(match[1]) * FACTORS[match[2] ?? ""]! : undefined;
};

/** Problems with an environment's entry in stacks/environments.ts, each naming the field and the fix. */
export function environmentProblems(config: EnvironmentConfig): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(config.namespace)) {
    problems.push(`namespace "${config.namespace}" is not a DNS-1123 label (lowercase letters, digits, "-")`);
  }
  if (config.imageRepository.trim() === "" || /:[^/]*$/.test(config.imageRepository)) {
    problems.push(`imageRepository "${config.imageRepository}" must be a repository without a tag`);
  }
  if (!Number.isInteger(config.minReplicas) || config.minReplicas < 1) {
    problems.push(`minReplicas (${config.minReplicas}) must be a whole number, 1 or more`);
  }
  if (config.minReplicas > config.maxReplicas) {
    problems.push(`minReplicas (${config.minReplicas}) must not exceed maxReplicas (${config.maxReplicas})`);
  }
  if (!(config.targetCpuPercent > 0 && config.targetCpuPercent <= 100)) {
    problems.push(`targetCpuPercent (${config.targetCpuPercent}) must be between 1 and 100`);
  }
  for (const resource of ["cpu", "memory"] as const) {
    const request = quantity(config.requests[resource]);
    const limit = quantity(config.limits[resource]);
    if (request === undefined)
      problems.push(`requests.${resource} "${config.requests[resource]}" is not a quantity`);
    if (limit === undefined)
      problems.push(`limits.${resource} "${config.limits[resource]}" is not a quantity`);
    if (request !== undefined && limit !== undefined && request > limit) {
      problems.push(
        `requests.${resource} (${config.requests[resource]}) must not exceed limits.${resource} (${config.limits[resource]})`,
      );
    }
  }
  if (config.activeSlot !== "blue" && config.activeSlot !== "green") {
    problems.push(`activeSlot "${String(config.activeSlot)}" must be "blue" or "green"`);
  }
  for (const slot of ["blue", "green"] as const) {
    const size = config[`${slot}Replicas`];
    if (size !== "autoscale" && !(Number.isInteger(size) && size >= 0)) {
      problems.push(`${slot}Replicas (${String(size)}) must be "autoscale" or a whole number, 0 or more`);
    }
  }
  if (config[`${config.activeSlot}Replicas`] === 0) {
    problems.push(
      `the active slot (${config.activeSlot}) is parked (${config.activeSlot}Replicas: 0); scale it before it takes traffic`,
    );
  }
  for (const field of ["postgresStorageGiB", "redisStorageGiB", "chromaStorageGiB"] as const) {
    if (!(config[field] > 0)) problems.push(`${field} (${config[field]}) must be more than 0`);
  }
  return problems;
}

/** Answers whether a secret variable will be there at deploy time, without reading its value out. */
interface KeyLookup {
  /** `true`, `false`, or `undefined` when it cannot be verified from here. */
  has(variable: string): boolean | undefined;
  /** `Terraform variables (TF_VAR_*)`, `AWS Secrets Manager secret "x"`, … */
  readonly where: string;
  /** What to do to add a missing variable. */
  fix(variable: string): string;
  /** Set when the source itself could not be read: every check that needs it fails with this. */
  readonly problem?: string;
}

async function keyLookup(
  source: SecretSourceSpec,
  env: Env,
  clientConfig: SecretsManagerClientConfig,
  declared: readonly string[],
): Promise<KeyLookup> {
  switch (source.kind) {
    case "terraform-variables": {
      const names = source.variableNames;
      if (names) {
        // The stack's AppSecrets: only its variables reach the gateway, by their exact names.
        return {
          has: (variable) => (names[variable] ? nonEmpty(env[`TF_VAR_${names[variable]}`]) : false),
          where: "the AppSecrets Terraform variables (TF_VAR_*)",
          fix: (variable) =>
            names[variable]
              ? `export TF_VAR_${names[variable]} (from your password manager or CI secret) before deploying`
              : `AppSecrets does not carry ${variable}: add it to its keys in stacks/main.ts`,
        };
      }
      // Terraform matches TF_VAR_<name> case-sensitively: when the stack declares the
      // variable, only its exact name counts.
      const declaredName = (variable: string) =>
        declared.find((name) => name.toLowerCase() === variable.toLowerCase());
      return {
        has: (variable) => {
          const name = declaredName(variable);
          if (name) return nonEmpty(env[`TF_VAR_${name}`]);
          return nonEmpty(env[`TF_VAR_${variable}`]) || nonEmpty(env[`TF_VAR_${variable.toLowerCase()}`]);
        },
        where: "Terraform variables (TF_VAR_*)",
        fix: (variable) =>
          `export TF_VAR_${declaredName(variable) ?? variable} (from your password manager or CI secret) before deploying`,
      };
    }
    case "existing-secret":
      return {
        has: () => undefined,
        where: `existing Kubernetes Secret "${source.name}"`,
        fix: (variable) => `add ${variable} to the Secret "${source.name}"`,
      };
    case "aws-secrets-manager": {
      const region =
        source.region ??
        /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(source.secretId)?.[1] ??
        env["AWS_REGION"] ??
        env["AWS_DEFAULT_REGION"];
      const where = `AWS Secrets Manager secret "${source.secretId}"`;
      if (!region && !clientConfig.region) {
        return {
          has: () => false,
          where,
          fix: () => "",
          problem: `no AWS region for secret "${source.secretId}"; set AWS_REGION or use the secret's ARN`,
        };
      }
      const client = new SecretsManagerClient({ region, maxAttempts: 2, ...clientConfig });
      let keys: SecretKeys;
      try {
        keys = await readSecretKeys(client, source.secretId, String(region ?? clientConfig.region));
      } finally {
        client.destroy();
      }
      return {
        has: (variable) => keys.ok && keys.keys.has(variable),
        where,
        fix: (variable) => `add ${variable} to the secret's JSON`,
        ...(keys.ok ? {} : { problem: keys.problem }),
      };
    }
  }
}

/** The source a stack's AppSecrets uses, in preflight's terms. */
export function secretSourceOf(secrets: GatewaySecrets): SecretSourceSpec | undefined {
  switch (secrets.kind) {
    case "terraform-variables":
      return { kind: "terraform-variables", variableNames: secrets.variableNames };
    case "existing-secret":
      return secrets.existingSecretName
        ? { kind: "existing-secret", name: secrets.existingSecretName }
        : undefined;
    case "aws-secrets-manager":
      return secrets.arn ? { kind: "aws-secrets-manager", secretId: secrets.arn } : undefined;
  }
}

/** Which variable of a group is there; a pool (`OPENAI_API_KEY_1`) counts too. */
function findVariable(lookup: KeyLookup, variables: readonly string[]): boolean | undefined {
  let unknown = false;
  for (const variable of variables) {
    for (const name of [variable, `${variable}_1`]) {
      const has = lookup.has(name);
      if (has === true) return true;
      if (has === undefined) unknown = true;
    }
  }
  return unknown ? undefined : false;
}

function providersNeeded(config: GatewayConfig | undefined, environment: EnvironmentConfig): ProviderName[] {
  const gateway = config ?? {
    provider: environment.gateway.provider,
    fallbacks: environment.gateway.fallbacks,
    file: { routes: {} },
  };
  const routed = Object.values(gateway.file.routes).flatMap((route) =>
    route.targets.map((target) => target.provider),
  );
  return [
    ...new Set<ProviderName>([
      gateway.provider,
      ...gateway.fallbacks.map((target) => target.provider),
      ...routed,
    ]),
  ];
}

/**
 * The guide's configuration validation before a deploy, as a checklist:
 * the environment's config, the provider keys its routes need, client keys,
 * the image tag, budget and alerting, and a fallback provider. Reads secrets
 * only to learn which keys exist; no value is ever returned or printed.
 */
export async function runPreflight(options: PreflightOptions): Promise<PreflightReport> {
  const env = options.env ?? process.env;
  const environments: Readonly<Record<string, EnvironmentConfig | undefined>> =
    options.environments ?? ENVIRONMENTS;
  const environment = environments[options.environment];
  if (!environment) {
    throw new PreflightError(
      `unknown environment "${options.environment}"; use one of ${Object.keys(environments).join(", ") || ENVIRONMENT_NAMES.join(", ")}`,
    );
  }
  const production = environment.name === "production";
  const needsClientKeys = environment.name !== "development";
  const results: CheckResult[] = [];
  const check = (name: string, ok: boolean, detail: string) => results.push({ name, ok, detail });

  // 1. The environment's data and the gateway settings it implies.
  let gateway: GatewayConfig | undefined;
  const problems = environmentProblems(environment);
  try {
    gateway = loadConfig({
      ...gatewayVariables(environment),
      // Keys are checked below against their real source; placeholders keep loadConfig to the settings.
      AI_SECRETS_ID: "preflight",
      GATEWAY_API_KEYS: "preflight",
      AI_CONFIG_FILE: env["AI_CONFIG_FILE"],
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  check(
    "environment config validates",
    problems.length === 0,
    problems.length === 0
      ? `stacks/environments.ts "${environment.name}" and its gateway settings${env["AI_CONFIG_FILE"] ? ` with ${env["AI_CONFIG_FILE"]}` : ""}`
      : `fix in stacks/environments.ts or the config file: ${problems.join("; ")}`,
  );

  // The stack itself: it synthesizes, and every variable without a default is set.
  const synthesized = (options.synthesize ?? stackVariables)(environment.name);
  check(
    "stack synthesizes",
    synthesized.ok,
    synthesized.ok
      ? `stack "${environment.name}" (${synthesized.variables.length} Terraform variables)`
      : `${synthesized.problem}; run npm run synth to see the whole error`,
  );
  if (synthesized.ok && synthesized.terraform) {
    check(
      "Terraform accepts the stack",
      synthesized.terraform.ok,
      synthesized.terraform.ok
        ? synthesized.terraform.detail
        : `${synthesized.terraform.detail.split("\n").slice(0, 12).join(" ")}; run npm run validate to see the whole error`,
    );
  }
  if (synthesized.ok) {
    const unset = synthesized.variables.filter(
      (variable) => !variable.hasDefault && !nonEmpty(env[`TF_VAR_${variable.name}`]),
    );
    // AppSecrets' requiredKeys: their variables have no default and refuse "" (the gateway
    // would not start without them), so name the keys as well as the variables.
    const secrets = synthesized.secrets;
    const requiredKeys = secrets?.kind === "terraform-variables" ? (secrets.requiredKeys ?? []) : [];
    const required = new Set(requiredKeys.map((key) => secrets?.variableNames[key]));
    const requiredUnset = requiredKeys.filter((key) =>
      unset.some((variable) => variable.name === secrets?.variableNames[key]),
    );
    const elsewhere =
      options.secretSource && options.secretSource.kind !== "terraform-variables" && required.size > 0
        ? "; the stack's AppSecrets reads them from Terraform variables, whatever --secrets-manager / --existing-secret say"
        : "";
    check(
      "Terraform variables without a default are set",
      unset.length === 0,
      unset.length === 0
        ? "every variable has a default or a TF_VAR_ value"
        : `export ${unset.map((variable) => `TF_VAR_${variable.name}`).join(", ")} (terraform would stop and ask for them${
            requiredUnset.length > 0
              ? `; AppSecrets requires ${requiredUnset.join(", ")}: the gateway does not start without them`
              : ""
          })${elsewhere}`,
    );
  }

  // Values, the way Terraform will judge them: each set TF_VAR_* against its variable's validation.
  if (synthesized.ok) {
    let values: VariableValueCheck;
    try {
      values = (options.checkVariableValues ?? variableValueProblems)(synthesized.variables, env);
    } catch (error) {
      if (!(error instanceof ValidateError)) throw error;
      values = { checked: [], problems: [error.message] };
    }
    check(
      "Terraform variable values pass their validation",
      values.problems.length === 0,
      values.problems.length > 0
        ? values.problems.join("; ")
        : values.checked.length > 0
          ? `${values.checked.map((name) => `TF_VAR_${name}`).join(", ")} pass (checked by terraform)`
          : "no TF_VAR_ value with a validation rule is set",
    );
  }

  // 2. Every provider key the routes need.
  // Where the keys come from: the command line, else the stack's own AppSecrets, else AI_SECRETS_ID.
  const stackSecrets = synthesized.ok ? synthesized.secrets : undefined;
  const source: SecretSourceSpec =
    options.secretSource ??
    (stackSecrets ? secretSourceOf(stackSecrets) : undefined) ??
    (nonEmpty(env["AI_SECRETS_ID"])
      ? { kind: "aws-secrets-manager", secretId: env["AI_SECRETS_ID"]!.trim() }
      : { kind: "terraform-variables" });
  const declared = synthesized.ok ? synthesized.variables.map((variable) => variable.name) : [];
  const lookup = await keyLookup(source, env, options.awsClientConfig ?? {}, declared);
  const needed = providersNeeded(gateway, environment).filter(
    (provider) => KEY_VARIABLES[provider].length > 0,
  );
  if (needed.length === 0) {
    check("provider keys available", true, "the routes use only keyless providers (ollama)");
  } else if (lookup.problem) {
    check("provider keys available", false, lookup.problem);
  } else {
    const missing: string[] = [];
    const unverified: string[] = [];
    for (const provider of needed) {
      const variables = KEY_VARIABLES[provider];
      const found = findVariable(lookup, variables);
      const label = `${provider} needs ${variables[0]}${variables.length > 1 ? ` (or ${variables.slice(1).join(", ")})` : ""}`;
      if (found === false)
        missing.push(`${label}, missing from ${lookup.where}; ${lookup.fix(variables[0]!)}`);
      if (found === undefined) unverified.push(variables[0]!);
    }
    check(
      "provider keys available",
      missing.length === 0,
      missing.length > 0
        ? missing.join("; ")
        : unverified.length > 0
          ? `${unverified.join(", ")} expected in the ${lookup.where} (the cluster is not checked from here: kubectl -n ${environment.namespace} get secret ${source.kind === "existing-secret" ? source.name : ""} -o jsonpath='{.data}')`
          : `${needed.join(", ")}: found in ${lookup.where}`,
    );
  }

  // 3. Client keys for the gateway's own API.
  if (!needsClientKeys) {
    check("GATEWAY_API_KEYS configured", true, "not required in development (the gateway is open)");
  } else if (lookup.problem) {
    check("GATEWAY_API_KEYS configured", false, lookup.problem);
  } else {
    const found = findVariable(lookup, ["GATEWAY_API_KEYS"]);
    check(
      "GATEWAY_API_KEYS configured",
      found !== false,
      found === false
        ? `required in ${environment.name}, missing from ${lookup.where}; ${lookup.fix("GATEWAY_API_KEYS")}`
        : found === undefined
          ? `expected in the ${lookup.where}`
          : `found in ${lookup.where}`,
    );
  }

  // 4. The image names one build.
  // Tags are committed data (npm run release); the stacks refuse GATEWAY_IMAGE_TAG.
  const stray = nonEmpty(env["GATEWAY_IMAGE_TAG"])
    ? "GATEWAY_IMAGE_TAG is set but not read any more (synth refuses it): unset it; image tags are committed in stacks/environments.ts (npm run release -- --env <environment> --tag <tag>)"
    : undefined;
  const idleSlot = environment.activeSlot === "blue" ? "green" : "blue";
  const tag =
    options.imageTag ??
    (environment.platform === "docker" ? environment.imageTag : environment[`${idleSlot}ImageTag`]);
  if (environment.platform === "docker") {
    check(
      "image tag immutable",
      stray === undefined,
      stray ?? `development builds ${environment.imageRepository}:${tag} locally`,
    );
  } else {
    // Each slot's committed tag must name one build.
    const tagProblems = [
      stray,

      options.imageTag === undefined ? undefined : imageTagProblem(options.imageTag),
      ...(["blue", "green"] as const).map((slot) => {
        const problem = imageTagProblem(environment[`${slot}ImageTag`]);
        return problem ? `${slot}ImageTag: ${problem}` : undefined;
      }),
    ].filter((problem): problem is string => problem !== undefined);
    check(
      "image tag immutable",
      tagProblems.length === 0,
      tagProblems.length > 0 ? tagProblems.join("; ") : `${environment.imageRepository}:${tag}`,
    );
  }

  // The repository the kit ships with is no one's: a cluster would fail to pull it.
  if (environment.platform === "kubernetes") {
    const placeholder = PLACEHOLDER_REPOSITORY.test(environment.imageRepository);
    check(
      "image repository set",
      !placeholder,
      placeholder
        ? `imageRepository "${environment.imageRepository}" is the kit's placeholder; set your registry's repository for ${environment.name} in stacks/environments.ts`
        : environment.imageRepository,
    );
  }

  // 5. Budget and alerting, 6. a fallback provider: production only.
  if (production) {
    const budget = gateway?.dailyBudgetUsd ?? environment.gateway.dailyBudgetUsd;
    check(
      "daily budget set",
      budget > 0,
      budget > 0
        ? `${budget} USD a day${environment.gateway.budgetEnforce ? ", enforced" : ", alerts only"}`
        : "the daily budget is 0; set gateway.dailyBudgetUsd in stacks/environments.ts",
    );
    const direct =
      env["ALERT_WEBHOOK_URL"] ?? env["TF_VAR_ALERT_WEBHOOK_URL"] ?? env["TF_VAR_alert_webhook_url"];
    if (nonEmpty(direct)) {
      const valid = URL.canParse(direct!.trim()) && new URL(direct!.trim()).protocol === "https:";
      check(
        "alert webhook set",
        valid,
        valid
          ? "set (https)"
          : "ALERT_WEBHOOK_URL is not an https URL; use the https endpoint of your alerting tool",
      );
    } else if (lookup.problem) {
      check("alert webhook set", false, `not in the environment, and ${lookup.problem}`);
    } else {
      const found = findVariable(lookup, ["ALERT_WEBHOOK_URL"]);
      check(
        "alert webhook set",
        found !== false,
        found === false
          ? `budget, breaker and failover alerts would only be logged; set ALERT_WEBHOOK_URL (${lookup.fix("ALERT_WEBHOOK_URL")})`
          : found === undefined
            ? `expected in the ${lookup.where}`
            : `found in ${lookup.where}`,
      );
    }
    const fallbacks = (gateway?.fallbacks ?? environment.gateway.fallbacks).filter(
      (target) => target.provider !== (gateway?.provider ?? environment.gateway.provider),
    );
    check(
      "fallback provider configured",
      fallbacks.length > 0,
      fallbacks.length > 0
        ? fallbacks.map((target) => `${target.provider}/${target.model}`).join(", ")
        : "production needs a fallback on another provider; add one to gateway.fallbacks in stacks/environments.ts",
    );
  }

  // 7. Remote, locked state where the environment requires it.
  if (environment.requireRemoteState) {
    let kind = "local";
    let where = "a local state file";
    let problem: string | undefined;
    try {
      // A stray GATEWAY_IMAGE_TAG has its own line (image tag immutable).
      const { backend } = stackSettingsFromEnv({ ...env, GATEWAY_IMAGE_TAG: undefined });
      if (backendChosenInEnv(env) || !environment.stateBackend) {
        kind = backend.kind;
        if (backend.kind === "s3") {
          where = `S3 bucket ${backend.bucket} (${backend.region}), encrypted, locked by ${backend.dynamodbTable ? `an S3 lockfile and DynamoDB table ${backend.dynamodbTable}` : "an S3 lockfile"}`;
        }
      } else {
        kind = "configured";
        where = environment.stateBackend.description;
      }
      problem = localStateProblem(environment, kind);
    } catch (error) {
      problem = (error as Error).message;
    }
    check("Terraform state is remote", problem === undefined, problem ?? where);
  }

  const heading = `Preflight for ${environment.name}: namespace ${environment.namespace}, image ${environment.imageRepository}:${tag}, secrets from ${lookup.where}`;
  return { environment: environment.name, heading, results, ok: results.every((result) => result.ok) };
}

/** The checklist as printed: one PASS / FAIL line per check and a closing count. */
export function renderChecklist(report: PreflightReport): string {
  const lines = [report.heading];
  for (const result of report.results) {
    lines.push(`${result.ok ? "PASS" : "FAIL"}  ${result.name}: ${result.detail}`);
  }
  const failed = report.results.filter((result) => !result.ok).length;
  lines.push(
    failed === 0
      ? `${report.results.length} passed, 0 failed: ready to deploy ${report.environment}`
      : `${report.results.length - failed} passed, ${failed} failed: fix the failures above before deploying ${report.environment}`,
  );
  return `${lines.join("\n")}\n`;
}
