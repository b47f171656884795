import { DataKubernetesSecretV1 } from "@cdktf/provider-kubernetes/lib/data-kubernetes-secret-v1";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { checkName, PART_OF, variableName } from "./_pod";

/** Options of {@link SecretSource.fromTerraformVariables}. */
export interface TerraformVariablesOptions {
  /**
   * Prefix of the variable names (`<prefix>_<key>`, lower case).
   * @default - the owning construct's resource name for data services, none for AppSecrets
   */
  readonly variablePrefix?: string;
}

/** Options of {@link SecretSource.fromAwsSecretsManager}. */
export interface AwsSecretsManagerOptions {
  /**
   * IAM role the gateway's service account assumes (IRSA annotation `eks.amazonaws.com/role-arn`).
   * @default - no annotation: the node's or pod identity's role is used
   */
  readonly roleArn?: string;
}

/** How a set of secret values reaches the cluster. */
export type SecretSourceKind = "terraform-variables" | "existing-secret" | "aws-secrets-manager";

/** What binding a source produced: the Kubernetes Secret to read (if any) and the variables created. */
export interface BoundSecret {
  readonly secretName: string | undefined;
  readonly variables: Readonly<Record<string, TerraformVariable>>;
  /** The existing Secret read at plan (`existing-secret`); {@link requireSecretKeys} adds its key checks. */
  readonly existing?: DataKubernetesSecretV1;
}

const ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9/_+=,.@-]+$/;

/**
 * Where secret values come from. Values never appear in synthesized output:
 * Terraform variables are `sensitive` and only their references are written.
 */
export class SecretSource {
  /** Sensitive Terraform variables (`TF_VAR_<name>` or a tfvars file at deploy time) fill a Secret this kit creates. */
  static fromTerraformVariables(options: TerraformVariablesOptions = {}): SecretSource {
    return new SecretSource("terraform-variables", undefined, undefined, undefined, options.variablePrefix);
  }

  /** A Kubernetes Secret someone else manages (External Secrets, Sealed Secrets, kubectl). */
  static fromExistingSecret(name: string): SecretSource {
    checkName("SecretSource.fromExistingSecret", "name", name);
    return new SecretSource("existing-secret", name);
  }

  /** An AWS Secrets Manager secret the gateway reads at start (`AI_SECRETS_ID`) with workload identity. */
  static fromAwsSecretsManager(arn: string, options: AwsSecretsManagerOptions = {}): SecretSource {
    if (!ARN.test(arn)) {
      throw new Error(
        `SecretSource.fromAwsSecretsManager: arn ("${arn}") is not a Secrets Manager ARN; use arn:aws:secretsmanager:<region>:<account>:secret:<name>`,
      );
    }
    if (options.roleArn !== undefined && !ROLE_ARN.test(options.roleArn)) {
      throw new Error(
        `SecretSource.fromAwsSecretsManager: roleArn ("${options.roleArn}") is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>`,
      );
    }
    return new SecretSource("aws-secrets-manager", undefined, arn, options.roleArn);
  }

  private constructor(
    /** Which factory made this source. */
    public readonly kind: SecretSourceKind,
    /** The existing Secret's name (`existing-secret`). */
    public readonly existingSecretName?: string,
    /** The Secrets Manager ARN (`aws-secrets-manager`). */
    public readonly arn?: string,
    /** The workload-identity role (`aws-secrets-manager`). */
    public readonly roleArn?: string,
    /** Prefix of the Terraform variable names (`terraform-variables`). */
    public readonly variablePrefix?: string,
  ) {}

  /**
   * Creates what the source needs for `keys` under `scope` (internal to the kit's constructs).
   * `validation` adds a Terraform variable validation (for passwords that end up in URLs).
   */
  bind(
    scope: Construct,
    options: {
      readonly secretName: string;
      readonly namespace: string;
      readonly keys: readonly string[];
      readonly defaultPrefix: string;
      readonly describe: (key: string) => string;
      readonly urlSafe?: boolean;
      /** Keys whose variables have no default and must not be empty. */
      readonly requiredKeys?: readonly string[];
      readonly labels?: Record<string, string>;
    },
  ): BoundSecret {
    if (this.kind === "existing-secret") {
      // Read at plan (data sources do not wait for the namespace resource), so a
      // missing key fails `terraform plan` instead of the pod at start.
      const existing = new DataKubernetesSecretV1(scope, "Existing", {
        metadata: { name: this.existingSecretName, namespace: options.namespace },
      });
      requireSecretKeys(existing, options.requiredKeys ?? []);
      return { secretName: this.existingSecretName, variables: {}, existing };
    }
    if (this.kind === "aws-secrets-manager") return { secretName: undefined, variables: {} };
    const prefix = this.variablePrefix ?? options.defaultPrefix;
    const variables: Record<string, TerraformVariable> = {};
    const data: Record<string, string> = {};
    const required = new Set(options.requiredKeys ?? []);
    for (const key of options.keys) {
      const name = prefix ? variableName(prefix, key.toLowerCase()) : key.toLowerCase();
      const variable = new TerraformVariable(scope, `Variable-${key}`, {
        type: "string",
        sensitive: true,
        nullable: false,
        description: options.describe(key),
        ...(options.urlSafe
          ? {
              validation: [
                {
                  condition: `\${can(regex("^[A-Za-z0-9._~-]{16,}$", var.${name}))}`,
                  errorMessage: `${name} must be at least 16 URL-safe characters (letters, digits, . _ ~ -).`,
                },
              ],
            }
          : required.has(key)
            ? { validation: [requiredValidation(name)] }
            : { default: "" }),
      });
      variable.overrideLogicalId(name);
      variables[key] = variable;
      data[key] = variable.stringValue;
    }
    new SecretV1(scope, "Resource", {
      metadata: {
        name: options.secretName,
        namespace: options.namespace,
        labels: { ...PART_OF, ...options.labels },
      },
      type: "Opaque",
      data,
    });
    return { secretName: options.secretName, variables };
  }
}

/** The validation of a required key's variable: Terraform refuses an empty value at plan, naming the variable. */
export function requiredValidation(name: string): { condition: string; errorMessage: string } {
  return {
    condition: `\${length(var.${name}) > 0}`,
    errorMessage: `${name} is required: set TF_VAR_${name} (or put it in a tfvars file kept out of git).`,
  };
}

/**
 * Makes the plan fail when the existing Secret read by `existing` lacks one of `keys`
 * or holds it empty: one postcondition per key, whose message names the key, the
 * Secret and its namespace (never a value). Replaces the checks set before.
 */
export function requireSecretKeys(existing: DataKubernetesSecretV1, keys: readonly string[]): void {
  const { name, namespace } = existing.metadataInput ?? {};
  existing.lifecycle =
    keys.length === 0
      ? undefined
      : {
          postcondition: keys.map((key) => ({
            condition: `\${try(self.data["${key}"], "") != ""}`,
            errorMessage: `Secret ${name} in namespace ${namespace} lacks required key ${key} (or holds it empty); add ${key} to the Secret before deploying.`,
          })),
        };
}
