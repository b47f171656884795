import type { DataKubernetesSecretV1 } from "@cdktf/provider-kubernetes/lib/data-kubernetes-secret-v1";
import type { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { applyKitDefaults } from "../_kit-defaults";
import { checkName, checkNamespace } from "./_pod";
import { requiredValidation, requireSecretKeys, SecretSource } from "./secret-source";

/**
 * The gateway's secret variables (docs/gateway.md "Run it"): provider keys, client keys, the alert
 * webhook, and the bearer token `/metrics` requires when set (`GatewayMonitoring.metricsTokenSecret`).
 */
export const GATEWAY_SECRET_KEYS = [
  "OPENAI_API_KEY",
  "CLAUDE_API_KEY",
  "GEMINI_API_KEY",
  "GROQ_API_KEY",
  "GATEWAY_API_KEYS",
  "GATEWAY_ADMIN_KEYS",
  "ALERT_WEBHOOK_URL",
  "METRICS_TOKEN",
] as const;

/** Props of {@link AppSecrets}. */
export interface AppSecretsProps {
  /**
   * Where the values come from.
   * @default SecretSource.fromTerraformVariables() - one sensitive variable per key, empty by default
   */
  readonly source?: SecretSource;
  /**
   * Name of the Kubernetes Secret this construct creates (Terraform-variable source).
   * @default "ai-gateway-secrets"
   */
  readonly name?: string;
  /**
   * Namespace of the Secret.
   * @default "default"
   */
  readonly namespace?: string;
  /**
   * Environment variable names the Secret holds; each becomes a key and a gateway variable.
   * @default GATEWAY_SECRET_KEYS
   */
  readonly keys?: readonly string[];
  /**
   * Keys the gateway cannot start without (e.g. `GATEWAY_API_KEYS` and the routed
   * providers' keys in staging and production). With the Terraform-variable source
   * their variables have no default and reject an empty value, and an existing
   * Secret is read at plan with a postcondition per key, so a missing key fails
   * the plan instead of crash-looping the release. An AWS Secrets Manager secret
   * is checked by preflight and by the gateway at start (it exits naming the key). A gateway given these secrets adds the keys its
   * settings need (see {@link AppSecrets.requireKeys}), so this lists only extra ones.
   * @default []
   */
  readonly requiredKeys?: readonly string[];
}

/** The gateway's secrets: provider and client keys delivered by a {@link SecretSource}, never written into code or synth output. */
export class AppSecrets extends Construct {
  public readonly source: SecretSource;
  public readonly name: string;
  public readonly namespace: string;
  public readonly keys: readonly string[];
  private readonly required: string[];
  /** The existing Secret read at plan (existing-Secret source). */
  private readonly existing: DataKubernetesSecretV1 | undefined;
  /** Secret whose keys the gateway loads as environment variables; undefined for AWS Secrets Manager. */
  public readonly secretName: string | undefined;
  /** Value of `AI_SECRETS_ID` (AWS Secrets Manager source). */
  public readonly secretsId: string | undefined;
  /** Annotations for the gateway's service account (workload identity). */
  public readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  /** The sensitive Terraform variables, by key (Terraform-variable source). */
  public readonly variables: Readonly<Record<string, TerraformVariable>>;

  constructor(scope: Construct, id: string, props: AppSecretsProps = {}) {
    super(scope, id);
    this.source = props.source ?? SecretSource.fromTerraformVariables();
    this.name = props.name ?? "ai-gateway-secrets";
    this.namespace = props.namespace ?? "default";
    this.keys = props.keys ?? GATEWAY_SECRET_KEYS;
    this.required = [...new Set(props.requiredKeys ?? [])];
    applyKitDefaults(this);
    checkName("AppSecrets", "name", this.name);
    checkNamespace("AppSecrets", this.namespace);
    if (this.keys.length === 0) {
      throw new Error("AppSecrets: keys ([]) is empty; list the environment variables the Secret holds");
    }
    for (const key of this.keys) {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) {
        throw new Error(
          `AppSecrets: key ("${key}") is not an environment variable name; use upper case letters, digits and _`,
        );
      }
    }
    for (const key of this.required) {
      if (!this.keys.includes(key)) {
        throw new Error(
          `AppSecrets: requiredKeys lists "${key}", which is not in keys (${this.keys.join(", ")}); add it to keys or drop it`,
        );
      }
    }
    const bound = this.source.bind(this, {
      secretName: this.name,
      namespace: this.namespace,
      keys: this.keys,
      defaultPrefix: "",
      describe: (key) =>
        this.required.includes(key)
          ? `Gateway secret ${key} (sensitive; required)`
          : `Gateway secret ${key} (sensitive; empty leaves it unset)`,
      requiredKeys: this.required,
      labels: { "app.kubernetes.io/name": "ai-gateway", "app.kubernetes.io/component": "secrets" },
    });
    this.secretName = bound.secretName;
    this.variables = bound.variables;
    this.existing = bound.existing;
    this.secretsId = this.source.kind === "aws-secrets-manager" ? this.source.arn : undefined;
    this.serviceAccountAnnotations = this.source.roleArn
      ? { "eks.amazonaws.com/role-arn": this.source.roleArn }
      : {};
  }

  /** Keys the gateway cannot start without: required by the plan (Terraform-variable source), or named for preflight. */
  public get requiredKeys(): readonly string[] {
    return this.required;
  }

  /**
   * Makes `keys` required, as a gateway reading these secrets does for the keys its
   * settings need: with the Terraform-variable source their variables lose the empty
   * default and Terraform refuses the plan without a value, naming the variable.
   * `by` names the construct asking, for the error when a key is not in `keys`.
   */
  public requireKeys(keys: readonly string[], by: string): void {
    const missing = keys.filter((key) => !this.keys.includes(key));
    if (missing.length > 0) {
      throw new Error(
        `${by}: needs ${missing.join(", ")} from AppSecrets "${this.node.path}", whose keys (${this.keys.join(", ")}) lack ${missing.length === 1 ? "it" : "them"}; add ${missing.join(", ")} to its keys`,
      );
    }
    for (const key of keys) {
      if (this.required.includes(key)) continue;
      this.required.push(key);
      if (this.existing) requireSecretKeys(this.existing, this.required);
      const variable = this.variables[key];
      if (!variable) continue;
      variable.addOverride("default", undefined);
      variable.addOverride("description", `Gateway secret ${key} (sensitive; required)`);
      variable.addValidation(requiredValidation(variable.friendlyUniqueId));
    }
  }
}
