import ts from "typescript";
import { ENVIRONMENT_NAMES } from "../../app/config/defaults";
import { applyEdits, environmentEntry, replaceString, type SourceEdit } from "../_environment-file";

/** The blue-green slots. */
export const SLOTS = ["blue", "green"] as const;
/** One blue-green slot. */
export type Slot = (typeof SLOTS)[number];

/** Thrown for input the user must fix; the CLI prints it and exits 1. */
export class PromoteError extends Error {
  override readonly name = "PromoteError";
}

/** The result of {@link setActiveSlot}. */
export interface ActiveSlotEdit {
  /** The file's new text (unchanged when nothing needed changing). */
  readonly source: string;
  readonly previous: Slot;
  readonly changed: boolean;
  /** Warnings for the user (a slot pinned to a few replicas). */
  readonly notes: readonly string[];
}

/** Checks an environment name against the known ones; throws naming them. */
export function checkEnvironment(environment: string): void {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(environment)) {
    throw new PromoteError(
      `unknown environment "${environment}"; use one of ${ENVIRONMENT_NAMES.join(", ")}`,
    );
  }
}

/** Checks a slot name; throws naming the allowed ones. */
export function checkSlot(slot: string): asserts slot is Slot {
  if (!(SLOTS as readonly string[]).includes(slot)) {
    throw new PromoteError(`unknown slot "${slot}"; use ${SLOTS.join(" or ")}`);
  }
}

/**
 * Rewrites the `activeSlot` of one environment in the source of
 * stacks/environments.ts, touching nothing else, so promotion and rollback
 * are one-line reviewed changes. Throws a {@link PromoteError} that says what
 * to do when the file does not have exactly one literal `activeSlot` in that
 * environment's entry of `ENVIRONMENTS`.
 */
export function setActiveSlot(
  source: string,
  environment: string,
  slot: string,
  fileName: string,
): ActiveSlotEdit {
  checkEnvironment(environment);
  checkSlot(slot);
  const entry = environmentEntry(source, environment, fileName);
  if (entry === "no-environments") {
    throw new PromoteError(
      `${fileName} has no \`ENVIRONMENTS\` object literal; promote edits the activeSlot of each environment there (pass --file to point at another file)`,
    );
  }
  if (entry === "no-entry") {
    throw new PromoteError(
      `${fileName}: ENVIRONMENTS has no object literal for "${environment}"; add the environment there first`,
    );
  }
  const slots = entry.properties("activeSlot");
  if (slots.length !== 1) {
    throw new PromoteError(
      `${fileName}: the "${environment}" entry has ${slots.length} activeSlot properties; it needs exactly one \`activeSlot: "blue",\` (or "green") line`,
    );
  }
  const property = slots[0]!;
  const value = entry.literal(property);
  if (!value || !ts.isStringLiteral(value) || !(SLOTS as readonly string[]).includes(value.text)) {
    throw new PromoteError(
      `${fileName}: the "${environment}" activeSlot is \`${property.getText(entry.sourceFile)}\`, not a "blue" or "green" literal; write \`activeSlot: "blue",\` there and run promote again`,
    );
  }
  const previous = value.text as Slot;

  // A parked slot would take the traffic with no pod behind the Service. It goes to a fixed
  // count first: from 0 straight to "autoscale", Terraform leaves the HPA-owned Deployment at 0.
  const notes: string[] = [];
  const size = entry.literal(entry.properties(`${slot}Replicas`)[0]);
  const floorLiteral = entry.literal(entry.properties("minReplicas")[0]);
  const floor = floorLiteral && ts.isNumericLiteral(floorLiteral) ? Number(floorLiteral.text) : undefined;
  if (previous !== slot && size && ts.isNumericLiteral(size)) {
    const count = Number(size.text);
    const target = `${slot}Replicas: ${floor ?? "<minReplicas>"}`;
    if (count === 0) {
      throw new PromoteError(
        `${fileName}: the ${slot} slot of "${environment}" is parked (${slot}Replicas: 0); scale it first to a fixed count of at least minReplicas (${target}; not straight to "autoscale": an HPA never scales up from 0), deploy and smoke-test it on the preview Service, then promote`,
      );
    }
    if (floor === undefined || count < floor) {
      notes.push(
        `the ${slot} slot runs a fixed ${size.text} replica${size.text === "1" ? "" : "s"} (${slot}Replicas: ${size.text}); unless this is a rollback to a warm slot, scale it first to at least minReplicas (${target}) so it can carry the traffic`,
      );
    }
  }

  const edits: SourceEdit[] = previous === slot ? [] : [replaceString(entry, value, slot)];
  return { source: applyEdits(source, edits), previous, changed: edits.length > 0, notes };
}

/** The commands that follow a promotion, for the user to copy. */
export function nextSteps(environment: string, slot: Slot, previous: Slot, fileName: string): string {
  return [
    `Next steps:`,
    `  git switch -c promote-${environment}-${slot}`,
    `  git commit -m "Promote ${environment} to the ${slot} slot" ${fileName}`,
    `  npm run plan:review -- --base origin/main    # expect the Services' selector switch, the gate's target and the HPA bounds`,
    `  git push -u origin HEAD                      # open a pull request; the plan workflow posts the same review`,
    `Merging deploys it (the deploy refuses the switch unless ${slot} is fully rolled out). To roll back, promote the previous slot the same way:`,
    `  npm run promote -- --env ${environment} --slot ${previous}`,
    `  (or npm run rollback -- --env ${environment}; in an emergency see docs/runbooks.md "Release, promote, roll back")`,
    `Once ${slot} serves well, in a later change set ${slot}Replicas: "autoscale" if it runs a fixed count (the HPA takes over from the running pods);`,
    `keep ${previous} at minReplicas for an instant rollback, or park it (${previous}Replicas: 0).`,
  ].join("\n");
}
