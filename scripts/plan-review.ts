// npm run plan:review -- --base <git-ref> [--output <file>] [--report-file <file>] [--max-chars <n>] [--synth-command "<cmd>"]
// Prints a Markdown plan of what the working tree changes against <git-ref>.
// Exit codes: 0 no changes, 2 changes, 1 error (the message says what to do).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pendingCleanups, runPlanReview } from "./plan/review";
import { PlanReviewError } from "./plan/synthesize";

const USAGE =
  'usage: npm run plan:review -- --base <git-ref> [--output <file>] [--report-file <file>] [--max-chars <n>] [--synth-command "<cmd>"]';

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        base: { type: "string" },
        output: { type: "string" },
        "report-file": { type: "string" },
        "max-chars": { type: "string" },
        "synth-command": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  if (!values["base"]) {
    console.error(
      `--base is required: the git ref to compare with (for a pull request: origin/main)\n${USAGE}`,
    );
    return 1;
  }
  const maxChars = values["max-chars"] === undefined ? undefined : Number(values["max-chars"]);
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 1000)) {
    console.error(`--max-chars "${values["max-chars"]}" must be a whole number of characters, 1000 or more`);
    return 1;
  }
  try {
    const result = await runPlanReview({
      base: values["base"],
      synthCommand: values["synth-command"] ?? process.env["PLAN_REVIEW_SYNTH_COMMAND"] ?? undefined,
      maxChars,
      reportFile: values["report-file"],
    });
    process.stdout.write(result.markdown);
    if (values["output"]) {
      const output = resolve(values["output"]);
      mkdirSync(dirname(output), { recursive: true });
      writeFileSync(output, result.markdown);
    }
    if (result.reportFile) {
      console.error(`plan-review: full report written to ${result.reportFile}`);
    } else if (values["report-file"]) {
      const file = resolve(values["report-file"]);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, result.markdown);
    }
    return result.exitCode;
  } catch (error) {
    if (error instanceof PlanReviewError) console.error(`plan-review: ${error.message}`);
    else console.error(`plan-review: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.allSettled([...pendingCleanups].map((cleanup) => cleanup())).then(() => process.exit(1));
  });
}

main().then((code) => {
  process.exitCode = code;
});
