/**
 * `npm run release -- --env <environment> --tag <tag>`: points the IDLE
 * blue-green slot of one environment at an image tag CI built, by rewriting its
 * `<slot>ImageTag: "…",` line in stacks/environments.ts. The change goes through
 * a reviewed pull request; the plan shows the preview Deployment's new image,
 * and `npm run promote` flips `activeSlot` once the preview Service checks out.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { applyEdits, environmentEntry, replaceString } from "./_environment-file";

/** How errors name the file (the CLI may point at a copy through RELEASE_ENVIRONMENTS_FILE). */
const FILE_NAME = "stacks/environments.ts";

/** Environments that run blue-green slots (development builds its image locally). */
export const RELEASE_ENVIRONMENTS = ["staging", "production"] as const;

/** The OCI distribution spec's tag grammar. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** What a release changed. */
export interface ReleaseResult {
  readonly source: string;
  readonly slot: "blue" | "green";
  readonly previousTag: string;
}

/** A release that cannot proceed; the message says why and what to do. */
export class ReleaseError extends Error {}

/** Throws unless `tag` is a pinned, valid image tag. */
export function checkReleaseTag(tag: string): void {
  if (tag.trim() === "") {
    throw new ReleaseError('--tag is empty; pass the tag CI pushed, for example "sha-1a2b3c4"');
  }
  if (tag === "latest") {
    throw new ReleaseError(
      '--tag "latest" is mutable; pass the immutable tag CI pushed, for example "sha-1a2b3c4"',
    );
  }
  if (!IMAGE_TAG.test(tag)) {
    throw new ReleaseError(
      `--tag ("${tag}") is not a valid image tag; use letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-"), for example "sha-1a2b3c4"`,
    );
  }
}

/** Points `environment`'s idle slot at `tag` in the text of environments.ts. */
export function release(source: string, environment: string, tag: string): ReleaseResult {
  if (!(RELEASE_ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw new ReleaseError(
      `unknown environment "${environment}"; use one of ${RELEASE_ENVIRONMENTS.join(", ")} (development builds its image locally)`,
    );
  }
  checkReleaseTag(tag);
  const entry = environmentEntry(source, environment, FILE_NAME);
  if (typeof entry === "string") {
    throw new ReleaseError(`${FILE_NAME} has no "${environment}" entry in its ENVIRONMENTS object literal`);
  }
  // Exactly one string literal per property, so the rewrite cannot hit the wrong line.
  const only = (name: string, describe: string): ts.StringLiteral => {
    const found = entry.properties(name);
    const value = entry.literal(found[0]);
    if (found.length !== 1 || !value || !ts.isStringLiteral(value)) {
      throw new ReleaseError(
        `${FILE_NAME}: expected exactly one ${describe} line in ${environment}, found ${found.length}${found.length === 1 ? " (not a string literal)" : ""}`,
      );
    }
    return value;
  };
  const active = only("activeSlot", 'activeSlot: "blue"|"green",').text;
  if (active !== "blue" && active !== "green") {
    throw new ReleaseError(
      `${FILE_NAME}: ${environment}'s activeSlot ("${active}") is not "blue" or "green"`,
    );
  }
  const slot = active === "blue" ? "green" : "blue";
  const current = only(`${slot}ImageTag`, `${slot}ImageTag: "…",`);
  return {
    source: applyEdits(source, [replaceString(entry, current, tag)]),
    slot,
    previousTag: current.text,
  };
}

/** Parses `--env <name> --tag <tag>`; throws naming what is missing. */
export function parseReleaseArgs(argv: readonly string[]): { env: string; tag: string } {
  const values: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index] ?? "";
    const [name, inline] = flag.split("=", 2) as [string, string | undefined];
    if (name !== "--env" && name !== "--tag") {
      throw new ReleaseError(
        `unknown argument "${flag}"; usage: npm run release -- --env <environment> --tag <tag>`,
      );
    }
    const value = inline ?? argv[++index];
    if (value === undefined)
      throw new ReleaseError(
        `${name} needs a value; usage: npm run release -- --env <environment> --tag <tag>`,
      );
    values[name.slice(2)] = value;
  }
  const env = values["env"];
  const tag = values["tag"];
  if (env === undefined)
    throw new ReleaseError("--env is missing; usage: npm run release -- --env <environment> --tag <tag>");
  if (tag === undefined)
    throw new ReleaseError("--tag is missing; usage: npm run release -- --env <environment> --tag <tag>");
  return { env, tag };
}

/** Runs the command against `file`; returns the exit code. */
export function main(argv: readonly string[], file: string): number {
  try {
    const { env, tag } = parseReleaseArgs(argv);
    const result = release(readFileSync(file, "utf8"), env, tag);
    if (result.previousTag === tag) {
      process.stdout.write(`${env}: the idle slot ${result.slot} already runs "${tag}"; nothing to change\n`);
      return 0;
    }
    writeFileSync(file, result.source);
    process.stdout.write(
      `${env}: idle slot ${result.slot} now runs "${tag}" (was "${result.previousTag}"). Commit this in a pull request; after verifying the preview Service, run npm run promote.\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    process.stderr.write(`release: ${error.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(
    process.argv.slice(2),
    process.env["RELEASE_ENVIRONMENTS_FILE"] ?? join(__dirname, "../stacks/environments.ts"),
  );
}
