import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkOutdir } from "../../scripts/validate/terraform-check";
import { ensureBuilt, ROOT } from "../helpers/built";
import { kubernetesSchemaProblems, type StackJson } from "../helpers/kubernetes-schema";
import { itWithTerraform } from "../helpers/terraform";

const FIXTURE_DIR = join(ROOT, "test/fixtures/consumer");
const FIXTURE = join(FIXTURE_DIR, "main.ts");

describe("a consumer's cdktf app built from the README example", () => {
  let outdir: string;
  let stack: StackJson & { variable?: Record<string, Record<string, unknown>> };

  beforeAll(() => {
    ensureBuilt("dist/constructs/index.js", "scripts/build-constructs.mjs", [
      "constructs",
      "app/config",
      "app/security",
    ]);
    outdir = mkdtempSync(join(tmpdir(), "consumer-"));
    // The fixture imports the kit by package name, as an installed consumer does.
    execFileSync(process.execPath, ["--import", "tsx", FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" },
      stdio: "pipe",
    });
    stack = JSON.parse(readFileSync(join(outdir, "stacks/ai/cdk.tf.json"), "utf8")) as typeof stack;
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("is the README's example, verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /<!-- consumer-example:start -->\n```ts\n([\s\S]*?)```\n<!-- consumer-example:end -->/.exec(
      readme,
    );
    expect(block?.[1]).toBe(readFileSync(FIXTURE, "utf8"));
  });

  it("typechecks against the package's published types, as the consumer's tsc would", () => {
    // tsconfig.json leaves the fixture out: it imports ai-deploy-kit/constructs, whose
    // types (dist/types) exist only after the build beforeAll ensures.
    const tsc = (project: string) =>
      spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project], {
        cwd: ROOT,
        encoding: "utf8",
      });
    const fixture = tsc(join(FIXTURE_DIR, "tsconfig.json"));
    expect(fixture.stdout, fixture.stdout).toBe("");
    expect(fixture.status).toBe(0);
    // The same check refuses the example once it stops matching the constructs' types.
    const broken = mkdtempSync(join(FIXTURE_DIR, ".broken-"));
    try {
      writeFileSync(
        join(broken, "main.ts"),
        readFileSync(FIXTURE, "utf8").replace('aiProvider: "openai"', 'aiProvider: "openia"'),
      );
      writeFileSync(
        join(broken, "tsconfig.json"),
        JSON.stringify({ extends: "../tsconfig.json", include: ["main.ts"] }),
      );
      const refused = tsc(join(broken, "tsconfig.json"));
      expect(refused.status).not.toBe(0);
      expect(refused.stdout).toContain(`Type '"openia"' is not assignable`);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it("synthesizes and passes the Kubernetes schema check", () => {
    expect(Object.keys(stack.resource ?? {})).toContain("kubernetes_deployment_v1");
    expect(kubernetesSchemaProblems({ ai: stack })).toEqual([]);
  });

  itWithTerraform(
    "passes npm run validate's Terraform check",
    () => {
      expect(checkOutdir(outdir).map((check) => [check.stack, check.ok, check.detail])).toEqual([
        ["ai", true, expect.any(String)],
      ]);
    },
    120_000,
  );

  itWithTerraform(
    "fails at plan time naming a required key that is missing",
    () => {
      // The plan evaluates variables before any provider; offline the provider cannot be
      // installed, so the stack's own variable blocks are planned alone.
      const dir = mkdtempSync(join(tmpdir(), "consumer-plan-"));
      try {
        writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ variable: stack.variable }, null, 2));
        const env = {
          PATH: process.env["PATH"] ?? "",
          HOME: process.env["HOME"] ?? dir,
          CHECKPOINT_DISABLE: "1",
          TF_VAR_gateway_api_keys: "client-key-1",
          TF_VAR_claude_api_key: "sk-ant-1",
          TF_VAR_ai_postgres_password: "postgres-password-0123456789",
          TF_VAR_ai_redis_password: "redis-password-0123456789",
        };
        const run = (args: string[], extra: Record<string, string> = {}) =>
          spawnSync("terraform", args, { cwd: dir, env: { ...env, ...extra }, encoding: "utf8" });
        expect(run(["init", "-input=false", "-no-color"]).status).toBe(0);
        const missing = run(["plan", "-input=false", "-no-color", "-lock=false"]);
        expect(missing.status).toBe(1);
        expect(`${missing.stdout}${missing.stderr}`).toMatch(
          /No value for required variable[\s\S]*variable "openai_api_key"/,
        );
        const empty = run(["plan", "-input=false", "-no-color", "-lock=false"], {
          TF_VAR_openai_api_key: "",
        });
        expect(empty.status).toBe(1);
        expect(`${empty.stdout}${empty.stderr}`, `${empty.stdout}${empty.stderr}`).toContain(
          "openai_api_key is required: set TF_VAR_openai_api_key",
        );
        const complete = run(["plan", "-input=false", "-no-color", "-lock=false"], {
          TF_VAR_openai_api_key: "sk-1",
        });
        expect(complete.status, complete.stderr).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
