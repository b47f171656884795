import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkOutdir, checkStack, renderChecks, ValidateError } from "../../scripts/validate/terraform-check";
import { buildApp } from "../../stacks/main";
import { describeWithTerraform } from "../helpers/terraform";

const execFileAsync = promisify(execFile);
const projectRoot = resolve(__dirname, "../..");
const fixtures = join(__dirname, "../fixtures/validate");

describeWithTerraform("terraform check of synthesized stacks", () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "validate-test-"));
    buildApp({ outdir }, {}).synth();
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("accepts every stack the project synthesizes", () => {
    const checks = checkOutdir(outdir);
    expect(checks.map((check) => check.stack)).toEqual(["development", "production", "staging"]);
    for (const check of checks) expect(check, renderChecks([check])).toMatchObject({ ok: true });
  });

  it("fails on an interpolated depends_on with Terraform's own message", () => {
    const [check] = checkOutdir(join(fixtures, "interpolated-depends-on"));
    expect(check).toMatchObject({ stack: "broken", ok: false, depth: "init" });
    expect(check?.detail).toContain("A single static variable reference is required");
    expect(check?.detail).toContain("terraform_data.Gateway.depends_on");
    expect(renderChecks(check ? [check] : [])).toMatch(
      /^FAIL {2}broken +terraform init rejected the configuration\n/,
    );
  });

  it("runs terraform validate when the providers are at hand (a built-in one here)", () => {
    const [check] = checkOutdir(join(fixtures, "static-depends-on"));
    expect(check).toEqual({
      stack: "fixed",
      ok: true,
      depth: "validate",
      detail: "terraform validate: valid",
    });
  });

  it("fails with --require-providers when the providers cannot be downloaded", () => {
    const check = checkStack("development", join(outdir, "stacks", "development"), {
      requireProviders: true,
    });
    // On a runner with network the provider installs and validate runs; offline it must not pass.
    if (check.depth === "init") expect(check.ok).toBe(false);
    else expect(check).toMatchObject({ depth: "validate", ok: true });
  }, 300_000);
});

describe("validate without terraform", () => {
  it("fails when terraform is missing, naming how to install it", () => {
    const check = () =>
      checkOutdir(join(fixtures, "static-depends-on"), { terraform: "/nonexistent/terraform" });
    expect(check).toThrow(ValidateError);
    expect(check).toThrow("terraform not found (/nonexistent/terraform): install Terraform >= 1.5");
  });

  it("npm run validate exits 1 with a clear message when terraform is not on PATH", async () => {
    const result = await execFileAsync(process.execPath, ["--import", "tsx", "scripts/validate.ts"], {
      cwd: projectRoot,
      env: { ...process.env, PATH: dirname(process.execPath), CHECKPOINT_DISABLE: "1" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("validate: terraform not found (terraform): install Terraform >= 1.5");
  });
});
