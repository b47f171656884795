import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlanReview } from "../../../scripts/plan/review";
import { PlanReviewError } from "../../../scripts/plan/synthesize";

const projectRoot = resolve(__dirname, "../../..");
const SYNTH = "node app.cjs";

/** The fixture's data; each commit changes one thing. */
interface FixtureConfig {
  apiKeyDefault: string;
  inlineSecret: string;
  gatewayKeys: string;
  imageTags: { blue: string; green: string };
  activeSlot: "blue" | "green";
  databaseId: string;
  postgresStorage: string;
  configMaps: Record<string, Record<string, string>>;
  fail?: string;
}

const SECRETS = ["sk-fixture-default-key-0001", "inline-claude-secret-0002", "client-key-0003"];
const initial: FixtureConfig = {
  apiKeyDefault: SECRETS[0]!,
  inlineSecret: SECRETS[1]!,
  gatewayKeys: SECRETS[2]!,
  imageTags: { blue: "1.0.0", green: "1.0.0" },
  activeSlot: "blue",
  databaseId: "Database",
  postgresStorage: "10Gi",
  configMaps: {},
};

let repo = "";
const commits: Record<string, string> = {};

function gitIn(...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8" }).trim();
}

function commit(name: string, change: Partial<FixtureConfig>): void {
  const current = JSON.parse(readFileSync(join(repo, "config.json"), "utf8")) as FixtureConfig;
  writeFileSync(join(repo, "config.json"), `${JSON.stringify({ ...current, ...change }, null, 2)}\n`);
  gitIn("commit", "-qam", name);
  commits[name] = gitIn("rev-parse", "HEAD");
}

function checkout(name: string): void {
  gitIn("checkout", "-q", "--detach", commits[name]!);
}

function review(base: string, options: { maxChars?: number; reportFile?: string } = {}) {
  return runPlanReview({ cwd: repo, base, synthCommand: SYNTH, ...options });
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), "plan-review-fixture-"));
  copyFileSync(join(projectRoot, "test/fixtures/plan-review/app.cjs"), join(repo, "app.cjs"));
  symlinkSync(join(projectRoot, "node_modules"), join(repo, "node_modules"), "dir");
  writeFileSync(join(repo, ".gitignore"), "node_modules\ncdktf.out\n");
  writeFileSync(join(repo, "config.json"), `${JSON.stringify(initial, null, 2)}\n`);
  gitIn("init", "-q", "-b", "main");
  gitIn("config", "user.email", "fixture@example.com");
  gitIn("config", "user.name", "fixture");
  gitIn("add", ".");
  gitIn("commit", "-qm", "initial");
  commits["initial"] = gitIn("rev-parse", "HEAD");
  commit("added", { configMaps: { Settings: { LOG_LEVEL: "info" } } });
  commit("image", { imageTags: { blue: "1.0.0", green: "1.1.0" } });
  commit("slot", { activeSlot: "green" });
  commit("pvc", { postgresStorage: "20Gi" });
  commit("rename", { databaseId: "Postgres" });
  commit("secrets", {
    apiKeyDefault: "sk-fixture-rotated-key-0004",
    inlineSecret: "inline-claude-rotated-0005",
    gatewayKeys: "client-key-rotated-0006",
  });
  commit("broken", { fail: "fixture stack is broken on purpose" });
  commit("fixed", { fail: undefined });
});

afterAll(() => {
  if (repo) rmSync(repo, { recursive: true, force: true });
});

describe("plan review on fixture commits", () => {
  it("shows an added resource", async () => {
    checkout("added");
    const result = await review(commits["initial"]!);
    expect(result.exitCode).toBe(2);
    const changes = result.plans[0]!.changes;
    expect(changes.map((entry) => [entry.action, entry.block.address])).toEqual([
      ["add", "kubernetes_config_map_v1.Settings"],
    ]);
    expect(result.markdown).toContain(
      "#### Added\n\n- `kubernetes_config_map_v1.Settings` from `staging/Settings`",
    );
    expect(result.markdown).toContain("| `staging` | 1 | 0 | 0 | 0 | 0 |");
    expect(result.markdown).toContain(
      [
        "  <details><summary>3 attributes</summary>",
        "",
        '  - `data.LOG_LEVEL`: `"info"`',
        '  - `metadata.name`: `"settings"`',
        '  - `metadata.namespace`: `"ai-staging"`',
        "",
        "  </details>",
      ].join("\n"),
    );
  });

  it("shows an image tag change as an in-place change of that attribute", async () => {
    checkout("image");
    const result = await review(commits["added"]!);
    expect(result.exitCode).toBe(2);
    const [change, ...rest] = result.plans[0]!.changes;
    expect(rest).toEqual([]);
    expect(change!.action).toBe("update");
    expect(change!.block.address).toBe("kubernetes_deployment_v1.Gateway-green");
    expect(result.markdown).toContain(
      '  - `spec.template.spec.container[0].image`: `"ghcr.io/example/ai-gateway:1.0.0"` → `"ghcr.io/example/ai-gateway:1.1.0"`\n',
    );
  });

  it("shows a blue-green flip as exactly the two Service selector switches", async () => {
    checkout("slot");
    const result = await review(commits["image"]!);
    expect(result.exitCode).toBe(2);
    const changes = result.plans[0]!.changes.map((entry) => ({
      action: entry.action,
      address: entry.block.address,
      attributes: entry.attributes.map((attribute) => [attribute.path, attribute.before, attribute.after]),
    }));
    expect(changes).toEqual([
      {
        action: "update",
        address: "kubernetes_service_v1.Active",
        attributes: [["spec.selector.slot", "blue", "green"]],
      },
      {
        action: "update",
        address: "kubernetes_service_v1.Preview",
        attributes: [["spec.selector.slot", "green", "blue"]],
      },
    ]);
    expect(result.markdown).toContain('  - `spec.selector.slot`: `"blue"` → `"green"`\n');
    expect(result.markdown).not.toContain("Replaced");
  });

  it("calls out a StatefulSet volume size change as a replacement", async () => {
    checkout("pvc");
    const result = await review(commits["slot"]!);
    expect(result.exitCode).toBe(2);
    const [change, ...rest] = result.plans[0]!.changes;
    expect(rest).toEqual([]);
    expect(change!.action).toBe("replace");
    expect(change!.block.address).toBe("kubernetes_stateful_set_v1.Database");
    expect(result.markdown).toContain("#### Replaced (destroyed, then created)");
    expect(result.markdown).toContain(
      '  - `spec.volume_claim_template[0].spec.resources.requests.storage`: `"10Gi"` → `"20Gi"` **forces replacement**: a StatefulSet\'s volume claim templates are immutable (existing PVCs keep their old size)\n',
    );
    expect(result.markdown).toContain("| `staging` | 0 | 0 | 1 | 0 | 0 |");
  });

  it("shows a renamed construct id as a destroy and a create flagged as a likely rename", async () => {
    checkout("rename");
    const result = await review(commits["pvc"]!);
    expect(result.exitCode).toBe(2);
    const changes = result.plans[0]!.changes;
    expect(changes.map((entry) => [entry.action, entry.block.address, entry.rename?.counterpart])).toEqual([
      ["remove", "kubernetes_stateful_set_v1.Database", "kubernetes_stateful_set_v1.Postgres"],
      ["add", "kubernetes_stateful_set_v1.Postgres", "kubernetes_stateful_set_v1.Database"],
    ]);
    expect(result.markdown).toContain(
      '  - :warning: **likely a renamed construct id**: same type and metadata.name "postgres" in namespace "ai-staging", re-created as `kubernetes_stateful_set_v1.Postgres` (`staging/Postgres`).',
    );
    expect(result.markdown).toContain("| `staging` | 1 | 0 | 0 | 1 | 0 |");
  });

  it("masks sensitive values: secret data, sensitive variables and secret env values", async () => {
    checkout("secrets");
    const result = await review(commits["rename"]!);
    expect(result.exitCode).toBe(2);
    for (const secret of [
      ...SECRETS,
      "sk-fixture-rotated-key-0004",
      "inline-claude-rotated-0005",
      "client-key-rotated-0006",
    ]) {
      expect(result.markdown).not.toContain(secret);
    }
    expect(result.markdown).toContain(
      "#### Variables, outputs, providers and backend\n\n- changed `var.provider_api_key`\n  - `default`: (sensitive) → (sensitive)\n",
    );
    expect(result.markdown).toContain("| `staging` | 0 | 3 | 0 | 0 | 1 |");
    expect(result.markdown).toContain("  - `data.CLAUDE_API_KEY`: (sensitive) → (sensitive)\n");
    expect(result.markdown).toContain(
      "  - `spec.template.spec.container[0].env[0].value`: (sensitive) → (sensitive)\n",
    );
  });

  it("answers exit code 0 when nothing changed", async () => {
    checkout("secrets");
    const result = await review("HEAD");
    expect(result.exitCode).toBe(0);
    expect(result.markdown).toContain("No changes in 1 stack (`staging`).");
  });

  it("summarizes a report longer than the limit and writes the full one to a file", async () => {
    checkout("secrets");
    const reportFile = join(repo, "cdktf.out", "full.md");
    // Room for the stateful-destroy warning at the top and the first risk lines.
    const result = await review(commits["initial"]!, { maxChars: 1500, reportFile });
    expect(result.exitCode).toBe(2);
    expect(result.reportFile).toBe(reportFile);
    expect(result.markdown.length).toBeLessThanOrEqual(1500);
    expect(result.markdown).toContain("> [!CAUTION]\n> **Destroys 1 stateful resource");
    expect(result.markdown).toContain("### Riskiest changes first");
    const risks = result.markdown.split("### Riskiest changes first\n\n")[1]!.split("\n");
    expect(risks[0]).toBe(
      "- `staging`: removed `kubernetes_stateful_set_v1.Database` from `staging/Database` (name `postgres`, namespace `ai-staging`) (likely a renamed construct id)",
    );
    expect(result.markdown).toContain(
      "### Added, by type\n\n- `staging`: 1 × `kubernetes_config_map_v1`, 1 × `kubernetes_stateful_set_v1`\n",
    );
    const full = readFileSync(reportFile, "utf8");
    expect(full.length).toBeGreaterThan(1500);
    expect(full).toContain('`spec.selector.slot`: `"blue"` → `"green"`');
    for (const secret of SECRETS) expect(full).not.toContain(secret);
  });

  it("fails when the base ref does not exist", async () => {
    checkout("fixed");
    await expect(review("no-such-branch")).rejects.toThrow(
      new PlanReviewError(
        `base ref "no-such-branch" does not exist in ${repo}; fetch it first (for a pull request's base: git fetch origin <branch>) or pass an existing branch, tag or commit with --base`,
      ),
    );
  });

  it("fails when the base does not synthesize, and leaves no worktree behind", async () => {
    checkout("fixed");
    const error = await review(commits["broken"]!).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PlanReviewError);
    const message = (error as Error).message;
    expect(message.split("\n")[0]).toBe(
      `the base ${commits["broken"]} (${commits["broken"]!.slice(0, 12)}) does not synthesize, so there is nothing to compare against. Fix the base branch or pass another --base.`,
    );
    expect(message).toContain("fixture stack is broken on purpose");
    expect(gitIn("worktree", "list").split("\n")).toHaveLength(1);
  });

  it("fails when the synth command writes no stacks", async () => {
    checkout("fixed");
    await expect(runPlanReview({ cwd: repo, base: "HEAD", synthCommand: "true" })).rejects.toThrow(
      new PlanReviewError(
        "`true` wrote no stacks to $CDKTF_OUTDIR for the base HEAD; the synth command must honour CDKTF_OUTDIR (stacks/synth.ts does), or pass --synth-command",
      ),
    );
  });

  it("fails when the working tree does not synthesize", async () => {
    checkout("broken");
    const error = await review(commits["secrets"]!).catch((caught: unknown) => caught);
    expect((error as Error).message.split("\n")[0]).toBe(
      "the working tree does not synthesize; fix it (run `npm run synth` to see the error) and run plan:review again.",
    );
  });
});

describe("plan:review command", () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        join(projectRoot, "node_modules/.bin/tsx"),
        [join(projectRoot, "scripts/plan-review.ts"), ...args, "--synth-command", SYNTH],
        { cwd: repo },
        (error, stdout, stderr) => done({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });

  it("exits 2 and prints the Markdown for an uncommitted change, 1 with a message for a bad ref", async () => {
    checkout("fixed");
    const config = JSON.parse(readFileSync(join(repo, "config.json"), "utf8")) as FixtureConfig;
    writeFileSync(join(repo, "config.json"), JSON.stringify({ ...config, activeSlot: "blue" }));
    try {
      const changed = await cli(["--base", "HEAD", "--output", "cdktf.out/plan.md"]);
      expect(changed.code).toBe(2);
      expect(changed.stdout).toContain('  - `spec.selector.slot`: `"green"` → `"blue"`\n');
      expect(readFileSync(join(repo, "cdktf.out/plan.md"), "utf8")).toBe(changed.stdout);
    } finally {
      gitIn("checkout", "--", "config.json");
    }
    const missing = await cli(["--base", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('plan-review: base ref "nope" does not exist');
    expect(existsSync(join(repo, "cdktf.out/plan.md"))).toBe(true);
  });
});
