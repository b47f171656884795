// npm run validate [-- --require-providers]
// Synthesizes every stack and has Terraform check each one (terraform init
// -backend=false, then terraform validate when the providers can be installed).
// Prints one line per stack; exits 1 with Terraform's own message on any error.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildApp } from "../stacks/main";
import { checkOutdir, renderChecks, terraformVersion, ValidateError } from "./validate/terraform-check";

function main(): number {
  const { values } = parseArgs({ options: { "require-providers": { type: "boolean" } }, strict: true });
  process.env["CHECKPOINT_DISABLE"] ??= "1";
  const outdir = mkdtempSync(join(tmpdir(), "validate-synth-"));
  try {
    const version = terraformVersion();
    buildApp({ outdir }).synth();
    const checks = checkOutdir(outdir, { requireProviders: values["require-providers"] === true });
    process.stdout.write(`${version}\n${renderChecks(checks)}`);
    return checks.every((check) => check.ok) ? 0 : 1;
  } catch (error) {
    if (error instanceof ValidateError) {
      console.error(`validate: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

process.exitCode = main();
