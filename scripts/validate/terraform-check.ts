import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Thrown when the check cannot run at all (no terraform binary, no synthesized stack). */
export class ValidateError extends Error {
  override readonly name = "ValidateError";
}

/** What Terraform said about one synthesized stack. */
export interface StackCheck {
  readonly stack: string;
  /** `true` when Terraform accepted the configuration. */
  readonly ok: boolean;
  /**
   * `validate`: providers were installed and `terraform validate` passed or failed;
   * `init`: only `terraform init -backend=false` could run (providers not downloadable here),
   * so the configuration was parsed and checked but not against the providers' schemas.
   */
  readonly depth: "validate" | "init";
  /** Terraform's own message on failure; a short note on success. */
  readonly detail: string;
}

/** Options of {@link checkStack}. */
export interface CheckStackOptions {
  /** @default "terraform" on PATH */
  readonly terraform?: string;
  /** Fail when the providers cannot be downloaded instead of stopping at the init check. @default false */
  readonly requireProviders?: boolean;
}

// Terraform's messages when the configuration parsed but a provider could not be fetched
// (no network, no mirror): the configuration itself was accepted.
const PROVIDER_UNAVAILABLE = [
  "Failed to query available provider packages",
  "Failed to install provider",
  "could not connect to registry",
];

/** The terraform binary's version line; throws a {@link ValidateError} saying how to install it when absent. */
export function terraformVersion(terraform = "terraform"): string {
  const result = spawnSync(terraform, ["version"], { encoding: "utf8" });
  if (result.error || result.status !== 0) throw missingTerraform(terraform);
  return result.stdout.split("\n")[0]?.trim() ?? "";
}

function missingTerraform(terraform: string): ValidateError {
  return new ValidateError(
    `terraform not found (${terraform}): install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install, or hashicorp/setup-terraform in GitHub Actions) and put it on PATH; synthesized stacks are not checked without it`,
  );
}

function run(terraform: string, args: readonly string[], cwd: string) {
  const result = spawnSync(terraform, [...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
    timeout: 300_000,
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT")
    throw missingTerraform(terraform);
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}

/**
 * Checks one synthesized stack directory (holding `cdk.tf.json`) with Terraform, in a
 * temporary copy with the backend block removed: `terraform init -backend=false`, which
 * parses and checks the whole configuration before it needs any provider, then
 * `terraform validate` when the providers could be installed.
 */
export function checkStack(stack: string, stackDir: string, options: CheckStackOptions = {}): StackCheck {
  const terraform = options.terraform ?? "terraform";
  const source = join(stackDir, "cdk.tf.json");
  if (!existsSync(source)) throw new ValidateError(`${stack}: no cdk.tf.json in ${stackDir}`);
  const work = mkdtempSync(join(tmpdir(), `validate-${stack}-`));
  try {
    const json = JSON.parse(readFileSync(source, "utf8")) as { terraform?: Record<string, unknown> };
    // The offline check must not reach for remote state: drop the backend (init would anyway, with -backend=false).
    if (json.terraform) delete json.terraform["backend"];
    writeFileSync(join(work, "cdk.tf.json"), JSON.stringify(json, null, 2));
    const init = run(terraform, ["init", "-backend=false", "-input=false", "-no-color"], work);
    if (init.status !== 0) {
      const providersOnly =
        PROVIDER_UNAVAILABLE.some((text) => init.output.includes(text)) && !init.output.includes("Invalid ");
      if (providersOnly && !options.requireProviders) {
        return {
          stack,
          ok: true,
          depth: "init",
          detail:
            "configuration accepted by terraform init; providers not downloadable here, terraform validate skipped",
        };
      }
      return { stack, ok: false, depth: "init", detail: errorsOf(init.output) };
    }
    const validate = run(terraform, ["validate", "-no-color"], work);
    return {
      stack,
      ok: validate.status === 0,
      depth: "validate",
      detail: validate.status === 0 ? "terraform validate: valid" : errorsOf(validate.output),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Terraform's error blocks, without the init progress lines before them. */
function errorsOf(output: string): string {
  const start = output.indexOf("Error:");
  return (start >= 0 ? output.slice(start) : output).trim();
}

/** Checks every stack of a cdktf output directory (`<outdir>/stacks/<name>/cdk.tf.json`). */
export function checkOutdir(outdir: string, options: CheckStackOptions = {}): StackCheck[] {
  const stacksDir = join(outdir, "stacks");
  if (!existsSync(stacksDir)) throw new ValidateError(`no synthesized stacks in ${outdir}`);
  return readdirSync(stacksDir)
    .sort()
    .map((stack) => checkStack(stack, join(stacksDir, stack), options));
}

/** One line per stack, then Terraform's message under each failed one. */
export function renderChecks(checks: readonly StackCheck[]): string {
  return checks
    .map((check) => {
      const line = `${check.ok ? "PASS" : "FAIL"}  ${check.stack.padEnd(12)} ${check.ok ? check.detail : `terraform ${check.depth} rejected the configuration`}`;
      return check.ok ? line : `${line}\n${check.detail.replace(/^/gm, "      ")}`;
    })
    .join("\n")
    .concat("\n");
}
