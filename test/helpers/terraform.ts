import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

/**
 * Why tests that run the terraform binary cannot run here, or undefined when they can.
 * Terraform is not an npm package: a fresh machine without it skips those tests with
 * this reason, while .ci/run refuses to run without terraform, so CI never skips them.
 */
export const TERRAFORM_MISSING: string | undefined =
  spawnSync("terraform", ["version"]).status === 0
    ? undefined
    : "no terraform binary on PATH (install Terraform >= 1.5; .ci/run requires it)";

let warned = false;

/** The test's name, carrying the skip reason when terraform is missing (shown by every reporter). */
function withReason(name: string): string {
  if (!TERRAFORM_MISSING) return name;
  if (!warned) {
    warned = true;
    console.warn(`skipping the tests that need terraform: ${TERRAFORM_MISSING}`);
  }
  return `${name} [skipped: ${TERRAFORM_MISSING}]`;
}

/** `it` for a test that runs terraform: skipped with the reason in its name when terraform is missing. */
export function itWithTerraform(name: string, fn: () => unknown, timeout?: number): void {
  (TERRAFORM_MISSING ? it.skip : it)(withReason(name), fn, timeout);
}

/** `describe` for a block whose tests run terraform (its hooks are skipped too when terraform is missing). */
export function describeWithTerraform(name: string, fn: () => void): void {
  (TERRAFORM_MISSING ? describe.skip : describe)(withReason(name), fn);
}
