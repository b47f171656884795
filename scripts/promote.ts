// npm run promote -- --env <environment> --slot <blue|green> [--file stacks/environments.ts]
// Switches which blue-green slot an environment's production Service selects,
// as a one-line change to review and merge like any other. Image tags are not
// its business: `npm run release` sets the idle slot's tag before a promotion.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { checkEnvironment, checkSlot, nextSteps, PromoteError, setActiveSlot } from "./promote/active-slot";

const USAGE =
  "usage: npm run promote -- --env <development|staging|production> --slot <blue|green> [--file <environments.ts>]";

function main(): number {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        env: { type: "string" },
        slot: { type: "string" },
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
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch (error) {
      throw new PromoteError(
        `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}); run promote from the project root or pass --file`,
      );
    }
    const edit = setActiveSlot(source, environment, slot, file);
    if (!edit.changed) {
      console.log(`${environment} already serves the ${slot} slot; nothing changed.`);
      return 0;
    }
    writeFileSync(file, edit.source);
    console.log(`${environment}: active slot ${edit.previous} → ${slot} (${file})`);
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
