/**
 * Reads and rewrites one environment's entry of `ENVIRONMENTS` in the source
 * of stacks/environments.ts, through the TypeScript AST: `npm run promote`
 * rewrites an `activeSlot` literal, `npm run release` a `<slot>ImageTag`
 * literal, each touching nothing else so the change reviews as one line.
 * Callers turn `problem` strings into their own error type.
 */
import ts from "typescript";

/** One environment's object literal in a parsed environments file. */
export interface EnvironmentEntry {
  readonly sourceFile: ts.SourceFile;
  readonly block: ts.ObjectLiteralExpression;
  /** Every property of that name inside the entry, nested ones included. */
  properties(name: string): ts.ObjectLiteralElementLike[];
  /** The value of a `name: value` property, past `as` / `satisfies` / parentheses. */
  literal(property: ts.ObjectLiteralElementLike | undefined): ts.Expression | undefined;
}

/** Why an environment entry cannot be found; the caller words the error. */
export type EntryProblem = "no-environments" | "no-entry";

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

/** Finds `environment`'s object literal in `ENVIRONMENTS`, or says what is missing. */
export function environmentEntry(
  source: string,
  environment: string,
  fileName: string,
): EnvironmentEntry | EntryProblem {
  const sourceFile = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const environments = findEnvironments(sourceFile);
  if (!environments) return "no-environments";
  const entry = environments.properties.find(
    (property): property is ts.PropertyAssignment =>
      ts.isPropertyAssignment(property) && propertyName(property.name, sourceFile) === environment,
  );
  const block = entry ? unwrap(entry.initializer) : undefined;
  if (!block || !ts.isObjectLiteralExpression(block)) return "no-entry";
  return {
    sourceFile,
    block,
    properties(name) {
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
    },
    literal(property) {
      return property && ts.isPropertyAssignment(property) ? unwrap(property.initializer) : undefined;
    },
  };
}

/** A text replacement in the source. */
export interface SourceEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Replaces a string literal's value, keeping its quote style. */
export function replaceString(entry: EnvironmentEntry, literal: ts.StringLiteral, value: string): SourceEdit {
  const quote = literal.getText(entry.sourceFile)[0];
  return {
    start: literal.getStart(entry.sourceFile),
    end: literal.getEnd(),
    text: `${quote}${value}${quote}`,
  };
}

/** Applies non-overlapping edits to `source`. */
export function applyEdits(source: string, edits: readonly SourceEdit[]): string {
  let edited = source;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    edited = `${edited.slice(0, edit.start)}${edit.text}${edited.slice(edit.end)}`;
  }
  return edited;
}
