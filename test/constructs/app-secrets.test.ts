import "../helpers/cdktf-matchers";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { SecretSource } from "../../constructs/kubernetes/secret-source";
import { all, synth, tfVar } from "../helpers/synth";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ai-gateway-AbCdEf";
const ROLE = "arn:aws:iam::123456789012:role/ai-gateway";

function build(props: ConstructorParameters<typeof AppSecrets>[2] = {}): AppSecrets {
  return new AppSecrets(new TerraformStack(Testing.app(), "test"), "Secrets", props);
}

describe("AppSecrets", () => {
  it("turns each key into a sensitive variable referenced by the Secret", () => {
    const { text, json } = synth((scope) => {
      new AppSecrets(scope, "Secrets", { namespace: "ai" });
    });
    expect(text).toHaveResourceWithProperties(SecretV1, {
      metadata: expect.objectContaining({ name: "ai-gateway-secrets", namespace: "ai" }),
      data: {
        OPENAI_API_KEY: tfVar("openai_api_key"),
        CLAUDE_API_KEY: tfVar("claude_api_key"),
        GEMINI_API_KEY: tfVar("gemini_api_key"),
        GROQ_API_KEY: tfVar("groq_api_key"),
        GATEWAY_API_KEYS: tfVar("gateway_api_keys"),
        GATEWAY_ADMIN_KEYS: tfVar("gateway_admin_keys"),
        ALERT_WEBHOOK_URL: tfVar("alert_webhook_url"),
        METRICS_TOKEN: tfVar("metrics_token"),
      },
    });
    for (const variable of Object.values(json.variable ?? {})) {
      expect(variable).toMatchObject({ sensitive: true, type: "string", default: "" });
    }
    expect(Object.keys(json.variable ?? {})).toHaveLength(8);
  });

  it("gives required keys no default and a non-empty validation", () => {
    const { json } = synth((scope) => {
      new AppSecrets(scope, "Secrets", { requiredKeys: ["GATEWAY_API_KEYS", "OPENAI_API_KEY"] });
    });
    const variables = json.variable ?? {};
    for (const name of ["gateway_api_keys", "openai_api_key"]) {
      expect(variables[name]).not.toHaveProperty("default");
      expect(variables[name]).toMatchObject({
        sensitive: true,
        nullable: false,
        description: `Gateway secret ${name.toUpperCase()} (sensitive; required)`,
        validation: [
          {
            condition: `\${length(var.${name}) > 0}`,
            error_message: `${name} is required: set TF_VAR_${name} (or put it in a tfvars file kept out of git).`,
          },
        ],
      });
    }
    expect(variables["claude_api_key"]).toMatchObject({ default: "" });
    expect(variables["claude_api_key"]).not.toHaveProperty("validation");
  });

  it("fails when a required key is not among the keys", () => {
    expect(() => build({ keys: ["OPENAI_API_KEY"], requiredKeys: ["GATEWAY_API_KEYS"] })).toThrow(
      'AppSecrets: requiredKeys lists "GATEWAY_API_KEYS", which is not in keys (OPENAI_API_KEY); add it to keys or drop it',
    );
  });

  it("prefixes variable names on request", () => {
    const { json } = synth((scope) => {
      new AppSecrets(scope, "Secrets", {
        keys: ["OPENAI_API_KEY"],
        source: SecretSource.fromTerraformVariables({ variablePrefix: "prod" }),
      });
    });
    expect(Object.keys(json.variable ?? {})).toEqual(["prod_openai_api_key"]);
  });

  it("uses an existing Secret without creating anything", () => {
    const secrets = build({ source: SecretSource.fromExistingSecret("vault-synced") });
    expect(secrets.secretName).toBe("vault-synced");
    const { json } = synth((scope) => {
      new AppSecrets(scope, "Secrets", { source: SecretSource.fromExistingSecret("vault-synced") });
    });
    expect(all(json, "kubernetes_secret_v1")).toEqual([]);
  });

  it("wires AWS Secrets Manager through AI_SECRETS_ID and the workload-identity annotation", () => {
    const secrets = build({ source: SecretSource.fromAwsSecretsManager(ARN, { roleArn: ROLE }) });
    expect(secrets.secretsId).toBe(ARN);
    expect(secrets.secretName).toBeUndefined();
    expect(secrets.serviceAccountAnnotations).toEqual({ "eks.amazonaws.com/role-arn": ROLE });
  });

  it("fails when a key is not an environment variable name", () => {
    expect(() => build({ keys: ["openai-key"] })).toThrow(
      'AppSecrets: key ("openai-key") is not an environment variable name; use upper case letters, digits and _',
    );
  });

  it("fails when keys is empty", () => {
    expect(() => build({ keys: [] })).toThrow(
      "AppSecrets: keys ([]) is empty; list the environment variables the Secret holds",
    );
  });

  it("fails when the Secrets Manager ARN is malformed", () => {
    expect(() => SecretSource.fromAwsSecretsManager("ai-gateway")).toThrow(
      'SecretSource.fromAwsSecretsManager: arn ("ai-gateway") is not a Secrets Manager ARN; use arn:aws:secretsmanager:<region>:<account>:secret:<name>',
    );
  });

  it("fails when the role ARN is malformed", () => {
    expect(() => SecretSource.fromAwsSecretsManager(ARN, { roleArn: "ai-role" })).toThrow(
      'SecretSource.fromAwsSecretsManager: roleArn ("ai-role") is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>',
    );
  });

  it("fails when an existing Secret's name is invalid", () => {
    expect(() => SecretSource.fromExistingSecret("Bad_Name")).toThrow(
      'SecretSource.fromExistingSecret: name ("Bad_Name") must be lower-case letters, digits and "-", at most 52 characters, starting and ending alphanumeric',
    );
  });
});
