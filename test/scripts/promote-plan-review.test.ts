import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlanReview } from "../../scripts/plan/review";
import { setActiveSlot } from "../../scripts/promote/active-slot";

const projectRoot = resolve(__dirname, "../..");
const FILE = "stacks/environments.ts";
let repo = "";

// A throwaway repository holding this checkout's stacks, constructs and app
// (the working tree, not HEAD), so promote runs on the real stacks.
beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), "promote-plan-"));
  for (const path of ["app", "constructs", "stacks", "package.json", "tsconfig.json", "cdktf.json"]) {
    cpSync(join(projectRoot, path), join(repo, path), { recursive: true });
  }
  symlinkSync(join(projectRoot, "node_modules"), join(repo, "node_modules"), "dir");
  writeFileSync(join(repo, ".gitignore"), "node_modules\ncdktf.out\n");
  const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "fixture@example.com");
  git("config", "user.name", "fixture");
  git("add", ".");
  git("commit", "-qm", "the project as it is");
});

afterAll(() => {
  if (repo) rmSync(repo, { recursive: true, force: true });
});

describe("npm run promote on the real stacks, then plan review", () => {
  // A promotion is the selector switch of the two Services, plus what follows the live slot in the
  // same apply: the rollout gate's data source now reads the promoted Deployment, and the two HPAs
  // swap their live and idle ceilings. No Deployment, pod template or replica count changes.
  it("shows the selector switch, the gate's new target and the HPA ceilings swapping, and nothing else", async () => {
    const path = join(repo, FILE);
    const edit = setActiveSlot(readFileSync(path, "utf8"), "production", "green", FILE);
    writeFileSync(path, edit.source);

    const result = await runPlanReview({ cwd: repo, base: "HEAD" });

    expect(result.exitCode).toBe(2);
    const changes = result.plans.flatMap((plan) =>
      plan.changes.map((entry) => ({
        stack: plan.stack,
        action: entry.action,
        address: entry.block.address.replace(/_[0-9A-F]{8}$/, ""),
        attributes: entry.attributes.map((attribute) => [attribute.path, attribute.before, attribute.after]),
      })),
    );
    expect(changes).toEqual([
      {
        stack: "production",
        action: "update",
        address: "data.kubernetes_resource.Gateway_ActiveRollout",
        attributes: [
          [
            "depends_on[0]",
            expect.stringMatching(/^kubernetes_deployment_v1\.Gateway_Blue_/),
            expect.stringMatching(/^kubernetes_deployment_v1\.Gateway_Green_/),
          ],
          ["metadata.name", "ai-gateway-blue", "ai-gateway-green"],
        ],
      },
      {
        stack: "production",
        action: "update",
        address: "kubernetes_horizontal_pod_autoscaler_v2.Gateway_Blue_Autoscaler",
        attributes: [["spec.max_replicas", 10, 5]],
      },
      {
        stack: "production",
        action: "update",
        address: "kubernetes_horizontal_pod_autoscaler_v2.Gateway_Green_Autoscaler",
        attributes: [["spec.max_replicas", 5, 10]],
      },
      {
        stack: "production",
        action: "update",
        address: "kubernetes_service_v1.Gateway",
        attributes: [['spec.selector["ai-deploy-kit.io/slot"]', "blue", "green"]],
      },
      {
        stack: "production",
        action: "update",
        address: "kubernetes_service_v1.Gateway_Preview",
        attributes: [['spec.selector["ai-deploy-kit.io/slot"]', "green", "blue"]],
      },
    ]);
    expect(result.markdown).toContain("| `production` | 0 | 5 | 0 | 0 | 0 |");
    // What a promotion adds besides the selectors is explained where it appears.
    expect(result.markdown).toContain(
      "  - the promotion gate: Terraform reads the Deployment the main Service switches to, and the Service's precondition refuses to plan or apply the switch unless it is fully rolled out and available\n",
    );
    expect(
      result.markdown.split(
        "autoscaling follows the live slot: the slot's HPA takes the bounds of its new role (live or idle)",
      ),
    ).toHaveLength(3);
    expect(result.markdown).toContain(
      '(name `ai-gateway`, namespace `ai-production`)\n  - `spec.selector["ai-deploy-kit.io/slot"]`: `"blue"` → `"green"`\n',
    );
    expect(result.markdown).toContain(
      '(name `ai-gateway-preview`, namespace `ai-production`)\n  - `spec.selector["ai-deploy-kit.io/slot"]`: `"green"` → `"blue"`\n',
    );
  });
});
