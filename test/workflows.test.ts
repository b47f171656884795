import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = resolve(__dirname, "..");
const dir = join(root, ".github/workflows");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: string;
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  environment?: string | { name: string };
  env?: Record<string, string>;
  strategy?: { matrix: { include?: Array<Record<string, string>> } };
  steps?: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

/** A GitHub Actions expression as written in a workflow: `${{ inner }}`. */
const expr = (inner: string): string => "$" + `{{ ${inner} }}`;

function load(file: string): Workflow {
  return parse(readFileSync(join(dir, file), "utf8")) as Workflow;
}

const scripts = Object.keys(
  (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts,
);

describe("GitHub workflows", () => {
  const files = readdirSync(dir).filter((file) => file.endsWith(".yml"));

  it.each(files)("%s parses, and every npm script and local workflow it names exists", (file) => {
    const workflow = load(file);
    expect(workflow.name).toBeTruthy();
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0);
    const text = readFileSync(join(dir, file), "utf8");
    for (const match of text.matchAll(/npm run (?:--silent )?([a-z:-]+)/g))
      expect(scripts).toContain(match[1]);
    for (const job of Object.values(workflow.jobs)) {
      if (job.uses?.startsWith("./")) expect(existsSync(join(root, job.uses))).toBe(true);
      for (const step of job.steps ?? []) {
        const script = /bash (scripts\/[\w.-]+)/.exec(step.run ?? "")?.[1];
        if (script) expect(existsSync(join(root, script))).toBe(true);
      }
    }
  });

  it("plan.yml tests, then posts plan:review against the base branch as one sticky comment", () => {
    const plan = load("plan.yml");
    expect(Object.keys(plan.on)).toEqual(["pull_request"]);
    const steps = plan.jobs["review"]!.steps!;
    const runs = steps.map((step) => step.run ?? step.uses ?? "");
    const index = (needle: string) => runs.findIndex((run) => run.includes(needle));
    expect(index("npm ci")).toBeLessThan(index("npm test"));
    expect(index("npm test")).toBeLessThan(index('plan:review -- --base "origin/$BASE_REF"'));
    expect(steps.find((step) => step.name === "Plan review")!.env!["BASE_REF"]).toBe(expr("github.base_ref"));
    const comment = steps.find((step) => step.uses?.startsWith("actions/github-script"))!;
    expect(String(comment.with!["script"])).toContain("updateComment");
    expect(String(comment.with!["script"])).toContain("<!-- ai-deploy-kit:plan-review -->");
    expect(steps.some((step) => step.uses?.startsWith("actions/upload-artifact"))).toBe(true);
    expect(steps.find((step) => step.uses?.startsWith("actions/checkout"))!.with).toEqual({
      "fetch-depth": 0,
    });
  });

  it("plan.yml runs cdktf diff per Kubernetes stack only when credentials are configured", () => {
    const diff = load("plan.yml").jobs["cdktf-diff"]!;
    expect(diff.needs).toBe("credentials");
    expect(diff.if).toBe("needs.credentials.outputs.configured == 'true'");
    expect(diff.strategy!.matrix.include!.map((entry) => entry["stack"])).toEqual(["staging", "production"]);
    const runs = diff.steps!.map((step) => step.run ?? "").join("\n");
    expect(runs).toContain(`npx --yes cdktf-cli@0.21 diff "${expr("matrix.stack")}"`);
    expect(diff.steps!.some((step) => step.uses?.startsWith("actions/upload-artifact"))).toBe(true);
  });

  it("deploy.yml builds the commit's image, deploys staging on merge, production after it behind its environment", () => {
    const deploy = load("deploy.yml");
    expect(deploy.on["push"]).toEqual({ branches: ["main"] });
    expect(Object.keys(deploy.on)).toContain("workflow_dispatch");
    const { image, staging, production } = deploy.jobs;
    const build = image!.steps!.find((step) => step.uses?.startsWith("docker/build-push-action"))!;
    expect(build.with!["tags"]).toBe(
      `${expr("steps.tag.outputs.repository")}:${expr("steps.tag.outputs.tag")}`,
    );
    // The tag names the commit: immutable, never `latest`.
    expect(image!.steps!.find((step) => step.name === "Image tag and repository")!.run).toContain(
      'tag="sha-$' + '{GITHUB_SHA::12}"',
    );
    // Deploying applies the committed tags: no tag travels from the build to the stacks.
    expect(staging!.uses).toBe("./.github/workflows/deploy-environment.yml");
    expect(staging!.with).toEqual({ environment: "staging" });
    expect(production!.needs).toEqual(["image", "staging"]);
    expect(production!.with).toEqual({ environment: "production" });
    expect(readFileSync(join(dir, "deploy.yml"), "utf8")).not.toContain("GATEWAY_IMAGE_TAG");
    expect(Object.keys((deploy.on["workflow_dispatch"] as { inputs: object }).inputs)).toEqual([
      "environment",
    ]);
  });

  it("deploy-environment.yml runs preflight before cdktf deploy in the GitHub environment", () => {
    const job = load("deploy-environment.yml").jobs["deploy"]!;
    expect(job.environment).toBe(expr("inputs.environment"));
    // Synth refuses GATEWAY_IMAGE_TAG: the tags are committed in stacks/environments.ts.
    expect(job.env!["GATEWAY_IMAGE_TAG"]).toBeUndefined();
    expect(readFileSync(join(dir, "deploy-environment.yml"), "utf8")).not.toContain("image_tag");
    const runs = job.steps!.map((step) => step.run ?? "");
    const preflight = runs.findIndex((run) => run.includes("npm run preflight"));
    const deployIndex = runs.findIndex((run) => run.includes("cdktf-cli@0.21 deploy"));
    expect(preflight).toBeGreaterThan(-1);
    expect(preflight).toBeLessThan(deployIndex);
    // A switch is gated before it is applied, and the live Service gets the chat after it.
    const gate = runs.findIndex((run) => run.includes("npm run promote -- --env") && run.includes("--check"));
    expect(gate).toBeGreaterThan(-1);
    expect(gate).toBeLessThan(deployIndex);
    const live = job.steps!.findIndex((step) =>
      (step.run ?? "").includes('smoke-test.sh "$NAMESPACE" ai-gateway 18081'),
    );
    expect(live).toBeGreaterThan(deployIndex);
    expect(job.steps![live]!.env!["SMOKE_API_KEY"]).toBe(expr("secrets.SMOKE_API_KEY"));
  });

  it("rollback.yml deploys one environment's committed configuration with no image build and no staging", () => {
    const rollback = load("rollback.yml");
    expect(Object.keys(rollback.on)).toEqual(["workflow_dispatch"]);
    expect(Object.keys(rollback.jobs)).toEqual(["deploy"]);
    const job = rollback.jobs["deploy"]!;
    expect(job.uses).toBe("./.github/workflows/deploy-environment.yml");
    expect(job.with).toEqual({ environment: expr("inputs.environment") });
    expect(job.needs).toBeUndefined();
  });

  it("ci.yml installs Terraform and has it check every synthesized stack", () => {
    const steps = load("ci.yml").jobs["test"]?.steps ?? [];
    const setup = steps.findIndex((step) => step.uses?.startsWith("hashicorp/setup-terraform@"));
    const validate = steps.findIndex((step) => step.run === "npm run validate -- --require-providers");
    expect(setup).toBeGreaterThan(-1);
    expect(validate).toBeGreaterThan(setup);
    const ciRun = readFileSync(join(root, ".ci/run"), "utf8");
    expect(ciRun).toContain("npm run validate");
    expect(ciRun).toContain("if ! command -v terraform");
  });
});
