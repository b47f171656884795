// Checks TF_VAR_* values against the variables' own validation rules by letting
// Terraform evaluate them: a configuration of just those variables, planned
// offline (no provider, no resource). Terraform may echo a failing value, so
// its output is never shown: only the rule's own error message is.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { terraformVersion, ValidateError } from "../validate/terraform-check";
import type { StackVariable } from "./stack-variables";

type Env = Readonly<Record<string, string | undefined>>;

/** The outcome: which variables were checked, and each failing rule's message. */
export interface VariableValueCheck {
  readonly checked: readonly string[];
  readonly problems: readonly string[];
}

const squash = (text: string) => text.replace(/\s+/g, " ").trim();

/**
 * Evaluates every set `TF_VAR_<name>` whose variable has validation rules the way
 * `terraform plan` will; throws a ValidateError when terraform is missing.
 */
export function variableValueProblems(
  variables: readonly StackVariable[],
  env: Env,
  terraform = "terraform",
): VariableValueCheck {
  const set = variables.filter(
    (variable) => (variable.validation?.length ?? 0) > 0 && env[`TF_VAR_${variable.name}`] !== undefined,
  );
  if (set.length === 0) return { checked: [], problems: [] };
  terraformVersion(terraform);
  const dir = mkdtempSync(join(tmpdir(), "preflight-variables-"));
  try {
    const config = {
      variable: Object.fromEntries(
        set.map((variable) => [
          variable.name,
          {
            type: variable.type ?? "string",
            // Sensitive whatever the stack says: nothing here may print a value.
            sensitive: true,
            validation: variable.validation,
          },
        ]),
      ),
    };
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify(config, null, 2));
    const childEnv: Record<string, string> = {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? dir,
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
    };
    for (const variable of set) childEnv[`TF_VAR_${variable.name}`] = env[`TF_VAR_${variable.name}`] ?? "";
    const run = (args: string[]) => {
      const result = spawnSync(terraform, args, {
        cwd: dir,
        env: childEnv,
        encoding: "utf8",
        timeout: 120_000,
      });
      if (result.error) throw new ValidateError(`terraform ${args[0]}: ${result.error.message}`);
      return { status: result.status ?? 1, output: squash(`${result.stdout}${result.stderr}`) };
    };
    const init = run(["init", "-input=false", "-no-color"]);
    if (init.status !== 0) return { checked: [], problems: ["terraform init failed on the variables alone"] };
    const plan = run(["plan", "-input=false", "-no-color", "-lock=false", "-refresh=false"]);
    const problems =
      plan.status === 0
        ? []
        : set.flatMap((variable) =>
            (variable.validation ?? [])
              .filter((rule) => plan.output.includes(squash(rule.error_message)))
              .map((rule) => `TF_VAR_${variable.name}: ${rule.error_message}`),
          );
    if (plan.status !== 0 && problems.length === 0) problems.push("terraform plan refused the variables");
    return { checked: set.map((variable) => variable.name), problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
