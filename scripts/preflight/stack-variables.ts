import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack } from "cdktf";
import { AppSecrets } from "../../constructs/kubernetes/app-secrets";
import { buildApp } from "../../stacks/main";
import { checkStack, ValidateError } from "../validate/terraform-check";

/** A Terraform variable of a synthesized stack, without its default's value. */
export interface StackVariable {
  readonly name: string;
  readonly hasDefault: boolean;
  readonly sensitive: boolean;
  /** Terraform's type expression, e.g. `string`. @default - none given */
  readonly type?: string;
  /** The variable's validation rules as synthesized (`condition`, `error_message`). @default [] */
  readonly validation?: readonly { readonly condition: string; readonly error_message: string }[];
}

/** How the stack's AppSecrets delivers the gateway's secret variables (its SecretSource). */
export interface GatewaySecrets {
  readonly kind: "terraform-variables" | "existing-secret" | "aws-secrets-manager";
  /** The environment variables the Secret (or the AWS secret) carries to the gateway. */
  readonly keys: readonly string[];
  /** Keys the stack requires (their Terraform variables have no default and must not be empty). @default [] */
  readonly requiredKeys?: readonly string[];
  /** Terraform-variable source: each key's variable name (`OPENAI_API_KEY` → `openai_api_key`). */
  readonly variableNames: Readonly<Record<string, string>>;
  /** Existing-secret source: the Secret's name. */
  readonly existingSecretName: string | undefined;
  /** AWS source: the secret's ARN (the gateway's `AI_SECRETS_ID`). */
  readonly arn: string | undefined;
}

/** What preflight learns from synthesizing a stack, or why it did not synthesize. */
export type StackVariables =
  | {
      readonly ok: true;
      readonly variables: readonly StackVariable[];
      /** Undefined when the stack has no AppSecrets (development runs on Docker). */
      readonly secrets?: GatewaySecrets;
      /** What Terraform said about the synthesized stack (npm run validate's check). */
      readonly terraform?: { readonly ok: boolean; readonly detail: string };
    }
  | { readonly ok: false; readonly problem: string };

type Found = {
  variables: StackVariable[];
  secrets: GatewaySecrets | undefined;
  terraform: { ok: boolean; detail: string };
};

/** npm run validate's check of one synthesized stack; a missing terraform binary is a failure. */
function terraformCheck(stack: string, dir: string): { ok: boolean; detail: string } {
  try {
    const check = checkStack(stack, dir);
    return { ok: check.ok, detail: check.detail };
  } catch (error) {
    if (error instanceof ValidateError) return { ok: false, detail: error.message };
    throw error;
  }
}
const cache = new Map<string, Map<string, Found>>();

function secretsOf(stack: TerraformStack): GatewaySecrets | undefined {
  const appSecrets = stack.node.findAll().find((child): child is AppSecrets => child instanceof AppSecrets);
  if (!appSecrets) return undefined;
  const variableNames: Record<string, string> = {};
  for (const [key, variable] of Object.entries(appSecrets.variables))
    variableNames[key] = variable.friendlyUniqueId;
  return {
    kind: appSecrets.source.kind,
    keys: appSecrets.keys,
    requiredKeys: appSecrets.requiredKeys,
    variableNames,
    existingSecretName: appSecrets.source.existingSecretName,
    arn: appSecrets.source.arn,
  };
}

/**
 * Synthesizes every stack (as `npm run synth` does, into a temporary
 * directory), and returns one stack's Terraform variables and the SecretSource
 * its AppSecrets uses. Memoized per GATEWAY_IMAGE_TAG (which the stacks refuse)
 * and backend settings, the only inputs the stacks read besides the code.
 */
export function stackVariables(stack: string): StackVariables {
  const key = ["GATEWAY_IMAGE_TAG", "TF_BACKEND", "TF_STATE_BUCKET"]
    .map((name) => process.env[name] ?? "")
    .join("\n");
  let byStack = cache.get(key);
  if (!byStack) {
    process.env["CHECKPOINT_DISABLE"] ??= "1";
    const outdir = mkdtempSync(join(tmpdir(), "preflight-synth-"));
    try {
      const app = buildApp({ outdir });
      app.synth();
      byStack = new Map();
      for (const child of app.node.children) {
        if (!(child instanceof TerraformStack)) continue;
        const name = child.node.id;
        const json = JSON.parse(readFileSync(join(outdir, "stacks", name, "cdk.tf.json"), "utf8")) as {
          variable?: Record<
            string,
            {
              default?: unknown;
              sensitive?: boolean;
              type?: string;
              validation?: { condition: string; error_message: string }[];
            }
          >;
        };
        const variables = Object.entries(json.variable ?? {}).map(([variable, body]) => ({
          name: variable,
          hasDefault: "default" in body,
          sensitive: body.sensitive === true,
          ...(body.type ? { type: body.type } : {}),
          ...(body.validation ? { validation: body.validation } : {}),
        }));
        const terraform = terraformCheck(name, join(outdir, "stacks", name));
        byStack.set(name, { variables, secrets: secretsOf(child), terraform });
      }
      cache.set(key, byStack);
    } catch (error) {
      return { ok: false, problem: (error as Error).message.split("\n").slice(0, 6).join(" ") };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }
  const found = byStack.get(stack);
  if (!found) return { ok: false, problem: `the app has no stack named "${stack}"` };
  return {
    ok: true,
    variables: found.variables,
    terraform: found.terraform,
    ...(found.secrets ? { secrets: found.secrets } : {}),
  };
}
