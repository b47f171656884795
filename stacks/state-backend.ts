// Where each stack keeps its Terraform state, and the rule that staging and
// production keep it remotely: the state holds every secret value and every
// object the stack owns, so a runner's local file is lost after each deploy.
import type { TerraformBackend, TerraformStack } from "cdktf";

/** A backend the user configures in stacks/environments.ts data (GCS, azurerm, remote, …). */
export interface ConfiguredStateBackend {
  readonly kind: "configured";
  /** What preflight prints, e.g. `gcs bucket acme-tfstate`. */
  readonly description: string;
  /** Creates the backend on the stack (`new GcsBackend(stack, { … })`); `stackId` is the stack's name. */
  readonly create: (stack: TerraformStack, stackId: string) => TerraformBackend;
}

type Env = Readonly<Record<string, string | undefined>>;

/** How to give a stack remote state; every refusal ends with it. */
export const REMOTE_STATE_HOWTO =
  "set TF_BACKEND=s3 and TF_STATE_BUCKET (TF_STATE_REGION, TF_STATE_KEY_PREFIX; locking uses an S3 lockfile, TF_STATE_DYNAMODB_TABLE adds a DynamoDB lock) or configure stateBackend in stacks/environments.ts; docs/operations.md section 'Terraform state'";

/** Whether `TF_BACKEND` was chosen explicitly (an empty value counts as unset, as GitHub passes unset vars). */
export function backendChosenInEnv(env: Env): boolean {
  return (env["TF_BACKEND"]?.trim() ?? "") !== "";
}

/**
 * Why `environment` must not deploy with `backendKind`, or undefined when it may:
 * an environment with `requireRemoteState` refuses local state.
 */
export function localStateProblem(
  environment: { readonly name: string; readonly requireRemoteState?: boolean },
  backendKind: string,
): string | undefined {
  if (!environment.requireRemoteState || backendKind !== "local") return undefined;
  return `${environment.name} keeps its Terraform state remotely (it holds every secret value and every object the stack owns; a local file on a CI runner is thrown away and the next deploy starts from nothing): ${REMOTE_STATE_HOWTO}`;
}
