import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { diffStacks, type StackPlan } from "./diff";
import { GITHUB_COMMENT_LIMIT, renderReport, renderSummary } from "./render";
import { DEFAULT_SYNTH_COMMAND, git, PlanReviewError, readStacks, runSynth } from "./synthesize";

/** Options of {@link runPlanReview}. */
export interface PlanReviewOptions {
  /** The git ref to compare against: a branch, tag or commit. */
  readonly base: string;
  /** The project directory whose working tree is compared. @default process.cwd() */
  readonly cwd?: string;
  /** @default "node --import tsx stacks/synth.ts" (env PLAN_REVIEW_SYNTH_COMMAND overrides it in the CLI) */
  readonly synthCommand?: string;
  /**
   * Longest output printed; a longer report is summarized and written to
   * `reportFile`. @default 64,512: GitHub's 65,536-character comment limit
   * less room for the sticky comment's own header.
   */
  readonly maxChars?: number;
  /** Where the full report goes when summarized. @default cdktf.out/plan-review.md in cwd */
  readonly reportFile?: string;
  /** Environment of the synth commands. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The outcome of a review. */
export interface PlanReviewResult {
  /** 0 no changes, 2 changes (1 is an error, thrown as {@link PlanReviewError}). */
  readonly exitCode: 0 | 2;
  /** What to print or post: the full report, or its summary when the report is too long. */
  readonly markdown: string;
  readonly plans: readonly StackPlan[];
  /** Set when the report was summarized: where the full one was written. */
  readonly reportFile: string | undefined;
}

/** Cleanups of base worktrees in flight, run by the CLI on SIGINT / SIGTERM. */
export const pendingCleanups = new Set<() => Promise<void>>();

async function resolveBase(root: string, base: string): Promise<string> {
  if (base.trim() === "" || base.startsWith("-")) {
    throw new PlanReviewError(`--base needs a git ref (a branch, tag or commit), got "${base}"`);
  }
  try {
    return await git(root, ["rev-parse", "--verify", "--quiet", `${base}^{commit}`]);
  } catch {
    throw new PlanReviewError(
      `base ref "${base}" does not exist in ${root}; fetch it first (for a pull request's base: git fetch origin <branch>) or pass an existing branch, tag or commit with --base`,
    );
  }
}

/**
 * Synthesizes the stacks at `base` (in a temporary git worktree that shares
 * the project's node_modules) and in the working tree, then compares them.
 * Throws {@link PlanReviewError} for a missing ref or a tree that does not
 * synthesize; always removes the temporary worktree.
 */
export async function runPlanReview(options: PlanReviewOptions): Promise<PlanReviewResult> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const command = options.synthCommand ?? DEFAULT_SYNTH_COMMAND;
  const maxChars = options.maxChars ?? GITHUB_COMMENT_LIMIT - 1024;

  let root: string;
  try {
    root = await git(cwd, ["rev-parse", "--show-toplevel"]);
  } catch {
    throw new PlanReviewError(
      `${cwd} is not inside a git repository; run plan:review from the project's checkout`,
    );
  }
  const baseCommit = await resolveBase(root, options.base);
  const projectDir = relative(root, cwd);

  const temp = mkdtempSync(join(tmpdir(), "plan-review-"));
  const worktree = join(temp, "base");
  let registered = false;
  const cleanup = async () => {
    pendingCleanups.delete(cleanup);
    if (registered) {
      await git(root, ["worktree", "remove", "--force", worktree]).catch(() => undefined);
    }
    rmSync(temp, { recursive: true, force: true });
  };
  pendingCleanups.add(cleanup);
  try {
    try {
      // Forget worktrees of earlier runs that were killed before they could clean up.
      await git(root, ["worktree", "prune"]).catch(() => undefined);
      await git(root, ["worktree", "add", "--detach", "--quiet", worktree, baseCommit]);
      registered = true;
    } catch (error) {
      throw new PlanReviewError(
        `could not check out the base ${options.base} into a temporary worktree: ${(error as Error).message}`,
      );
    }
    const baseDir = join(worktree, projectDir);
    if (!existsSync(baseDir)) {
      throw new PlanReviewError(
        `the base ${options.base} has no ${projectDir}; choose a base that contains the project`,
      );
    }
    // The base shares the working tree's dependencies: no install, no network.
    const modules = join(cwd, "node_modules");
    if (existsSync(modules) && !existsSync(join(baseDir, "node_modules"))) {
      symlinkSync(modules, join(baseDir, "node_modules"), "dir");
    }
    const binDir = join(modules, ".bin");
    const baseOut = join(temp, "out-base");
    const headOut = join(temp, "out-head");
    const [baseRun, headRun] = await Promise.allSettled([
      runSynth({ dir: baseDir, command, outdir: baseOut, binDir, env }),
      runSynth({ dir: cwd, command, outdir: headOut, binDir, env }),
    ]);
    if (baseRun.status === "rejected") {
      const lockChanged = await git(root, ["diff", "--quiet", baseCommit, "--", "package-lock.json"])
        .then(() => false)
        .catch(() => true);
      const hint = lockChanged
        ? " The base's package-lock.json differs from the working tree's: its dependencies may be missing here (the base uses this checkout's node_modules)."
        : "";
      throw new PlanReviewError(
        `the base ${options.base} (${baseCommit.slice(0, 12)}) does not synthesize, so there is nothing to compare against. Fix the base branch or pass another --base.${hint}\n${(baseRun.reason as Error).message}`,
      );
    }
    if (headRun.status === "rejected") {
      throw new PlanReviewError(
        `the working tree does not synthesize; fix it (run \`npm run synth\` to see the error) and run plan:review again.\n${(headRun.reason as Error).message}`,
      );
    }
    const baseStacks = readStacks(baseOut, [worktree, baseDir]);
    const headStacks = readStacks(headOut, [root, cwd]);
    for (const [side, stacks] of [
      [`the base ${options.base}`, baseStacks],
      ["the working tree", headStacks],
    ] as const) {
      if (stacks.size === 0) {
        // Comparing with nothing would show every resource as added or removed.
        throw new PlanReviewError(
          `\`${command}\` wrote no stacks to $CDKTF_OUTDIR for ${side}; the synth command must honour CDKTF_OUTDIR (stacks/synth.ts does), or pass --synth-command`,
        );
      }
    }
    const plans = diffStacks(baseStacks, headStacks);
    const header = { base: options.base, baseCommit, head: "working tree" };
    const report = renderReport(header, plans);
    const changed = plans.some((plan) => plan.changes.length > 0);
    const exitCode = changed ? 2 : 0;
    if (report.length <= maxChars) return { exitCode, markdown: report, plans, reportFile: undefined };
    const reportFile = resolve(cwd, options.reportFile ?? join("cdktf.out", "plan-review.md"));
    mkdirSync(dirname(reportFile), { recursive: true });
    writeFileSync(reportFile, report);
    const markdown = renderSummary(
      header,
      plans,
      relative(cwd, reportFile) || reportFile,
      report.length,
      maxChars,
    );
    return { exitCode, markdown, plans, reportFile };
  } finally {
    await cleanup();
  }
}
