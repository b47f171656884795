import ts from "typescript";
import { ENVIRONMENT_NAMES } from "../../app/config/defaults";

/** The blue-green slots. */
export const SLOTS = ["blue", "green"] as const;
/** One blue-green slot. */
export type Slot = (typeof SLOTS)[number];

/** Thrown for input the user must fix; the CLI prints it and exits 1. */
export class PromoteError extends Error {
  override readonly name = "PromoteError";
}

/** Options of {@link setActiveSlot}. */
export interface PromoteOptions {
  /**
   * Also pin the promoted slot's image to this tag (`<slot>ImageTag`): the build that ran on the
   * preview Service, so the slot keeps serving it after later deploys.
   * @default - the slot's tag is left as it is
   */
  readonly imageTag?: string;
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

function unwrap(node: ts.Expression): ts.Expression {
  let current = node;
  while (
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isParenthesizedExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

function propertyName(name: ts.PropertyName, sourceFile: ts.SourceFile): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return ts.isComputedPropertyName(name) ? undefined : name.getText(sourceFile);
}

function findEnvironments(sourceFile: ts.SourceFile): ts.ObjectLiteralExpression | undefined {
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node) => {
    if (found) return;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === "ENVIRONMENTS") {
      const initializer = node.initializer ? unwrap(node.initializer) : undefined;
      if (initializer && ts.isObjectLiteralExpression(initializer)) found = initializer;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
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
  options: PromoteOptions = {},
): ActiveSlotEdit {
  checkEnvironment(environment);
  checkSlot(slot);
  const sourceFile = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const environments = findEnvironments(sourceFile);
  if (!environments) {
    throw new PromoteError(
      `${fileName} has no \`ENVIRONMENTS\` object literal; promote edits the activeSlot of each environment there (pass --file to point at another file)`,
    );
  }
  const entry = environments.properties.find(
    (property): property is ts.PropertyAssignment =>
      ts.isPropertyAssignment(property) && propertyName(property.name, sourceFile) === environment,
  );
  const block = entry ? unwrap(entry.initializer) : undefined;
  if (!block || !ts.isObjectLiteralExpression(block)) {
    throw new PromoteError(
      `${fileName}: ENVIRONMENTS has no object literal for "${environment}"; add the environment there first`,
    );
  }
  const properties = (name: string): ts.ObjectLiteralElementLike[] => {
    const found: ts.ObjectLiteralElementLike[] = [];
    const visit = (node: ts.Node) => {
      if (
        (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) &&
        propertyName(node.name, sourceFile) === name
      ) {
        found.push(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(block);
    return found;
  };
  const literal = (property: ts.ObjectLiteralElementLike | undefined) =>
    property && ts.isPropertyAssignment(property) ? unwrap(property.initializer) : undefined;

  const slots = properties("activeSlot");
  if (slots.length !== 1) {
    throw new PromoteError(
      `${fileName}: the "${environment}" entry has ${slots.length} activeSlot properties; it needs exactly one \`activeSlot: "blue",\` (or "green") line`,
    );
  }
  const property = slots[0]!;
  const value = literal(property);
  if (!value || !ts.isStringLiteral(value) || !(SLOTS as readonly string[]).includes(value.text)) {
    throw new PromoteError(
      `${fileName}: the "${environment}" activeSlot is \`${property.getText(sourceFile)}\`, not a "blue" or "green" literal; write \`activeSlot: "blue",\` there and run promote again`,
    );
  }
  const previous = value.text as Slot;

  // A parked slot would take the traffic with no pod behind the Service.
  const notes: string[] = [];
  const size = literal(properties(`${slot}Replicas`)[0]);
  if (previous !== slot && size && ts.isNumericLiteral(size)) {
    if (Number(size.text) === 0) {
      throw new PromoteError(
        `${fileName}: the ${slot} slot of "${environment}" is parked (${slot}Replicas: 0); scale it first (${slot}Replicas: "autoscale"), deploy and smoke-test it on the preview Service, then promote`,
      );
    }
    notes.push(
      `the ${slot} slot runs a fixed ${size.text} replica${size.text === "1" ? "" : "s"} (${slot}Replicas: ${size.text}); unless this is a rollback to a warm slot, scale it first (${slot}Replicas: "autoscale") so it can carry the traffic`,
    );
  }

  const edits: Array<{ start: number; end: number; text: string }> = [];
  if (previous !== slot) {
    const quote = value.getText(sourceFile)[0];
    edits.push({ start: value.getStart(sourceFile), end: value.getEnd(), text: `${quote}${slot}${quote}` });
  }
  if (options.imageTag !== undefined) {
    const tags = properties(`${slot}ImageTag`);
    const tag = literal(tags[0]);
    if (tags.length !== 1 || !tag || !ts.isStringLiteral(tag)) {
      throw new PromoteError(
        `${fileName}: the "${environment}" entry needs exactly one \`${slot}ImageTag: "<tag>",\` line for --image-tag`,
      );
    }
    if (tag.text !== options.imageTag) {
      const quote = tag.getText(sourceFile)[0];
      edits.push({
        start: tag.getStart(sourceFile),
        end: tag.getEnd(),
        text: `${quote}${options.imageTag}${quote}`,
      });
    }
  }
  let edited = source;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    edited = `${edited.slice(0, edit.start)}${edit.text}${edited.slice(edit.end)}`;
  }
  return { source: edited, previous, changed: edits.length > 0, notes };
}

/** The commands that follow a promotion, for the user to copy. */
export function nextSteps(environment: string, slot: Slot, previous: Slot, fileName: string): string {
  return [
    `Next steps:`,
    `  git switch -c promote-${environment}-${slot}`,
    `  git commit -m "Promote ${environment} to the ${slot} slot" ${fileName}`,
    `  npm run plan:review -- --base origin/main    # expect only the gateway Services' selector switch`,
    `  git push -u origin HEAD                      # open a pull request; the plan workflow posts the same review`,
    `Merging deploys it. To roll back, promote the previous slot the same way:`,
    `  npm run promote -- --env ${environment} --slot ${previous}`,
    `Once ${slot} serves well, park ${previous} in a later change (${previous}Replicas: 1 keeps a warm pod, 0 parks it).`,
  ].join("\n");
}
