// npm run promote -- --env <environment> --slot <blue|green> [--image-tag <tag>] [--file stacks/environments.ts]
// Switches which blue-green slot an environment's production Service selects,
// as a one-line change to review and merge like any other.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { imageTagProblem } from "./preflight/image-tag";
import { checkEnvironment, checkSlot, nextSteps, PromoteError, setActiveSlot } from "./promote/active-slot";

const USAGE =
  "usage: npm run promote -- --env <development|staging|production> --slot <blue|green> [--image-tag <tag on preview>]";

function main(): number {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        env: { type: "string" },
        slot: { type: "string" },
        "image-tag": { type: "string" },
        file: { type: "string" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  const environment = values["env"];
  const slot = values["slot"];
  const file = values["file"] ?? "stacks/environments.ts";
  if (!environment || !slot) {
    console.error(`--env and --slot are both required\n${USAGE}`);
    return 1;
  }
  try {
    checkEnvironment(environment);
    checkSlot(slot);
    const imageTag = values["image-tag"];
    const tagProblem = imageTag === undefined ? undefined : imageTagProblem(imageTag);
    if (tagProblem) throw new PromoteError(`--image-tag: ${tagProblem}`);
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch (error) {
      throw new PromoteError(
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}); run promote from the project root or pass --file`,
      );
    }
    const edit = setActiveSlot(source, environment, slot, file, imageTag === undefined ? {} : { imageTag });
    if (!edit.changed) {
      console.log(`${environment} already serves the ${slot} slot; nothing changed.`);
      return 0;
    }
    writeFileSync(file, edit.source);
    console.log(`${environment}: active slot ${edit.previous} → ${slot} (${file})`);
    if (imageTag !== undefined) console.log(`${environment}: the ${slot} slot is pinned to ${imageTag}`);
    for (const note of edit.notes) console.log(`Note: ${note}`);
    console.log(nextSteps(environment, slot, edit.previous, file));
    return 0;
  } catch (error) {
    if (error instanceof PromoteError) {
      console.error(`promote: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main();
