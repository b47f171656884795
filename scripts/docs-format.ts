// Shared by the docs generators (npm run docs:config, npm run docs:constructs):
// formatting with the repository's own Biome settings, and writing or checking
// a generated file.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The repository root. */
export const ROOT = join(__dirname, "..");

/**
 * Formats Markdown as `npx biome check --write .` would for a file at `path` (relative to the
 * root), so a generated file passes `npm run lint` as written.
 */
export function formatMarkdown(text: string, path: string): string {
  const biome = join(ROOT, "node_modules/@biomejs/biome/bin/biome");
  const result = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${path}`], {
    cwd: ROOT,
    input: text,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`biome could not format ${path}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Writes a generated file, or with `--check` in `argv` exits 1 when the committed file differs
 * from what the generator produces now. Returns the process exit code.
 */
export function writeOrCheck(path: string, content: string, command: string, argv = process.argv): number {
  const file = join(ROOT, path);
  if (argv.includes("--check")) {
    let committed = "";
    try {
      committed = readFileSync(file, "utf8");
    } catch {
      // A missing file is as stale as an old one.
    }
    if (committed === content) {
      console.log(`${path} is up to date`);
      return 0;
    }
    console.error(`${path} is stale: run \`${command}\` and commit the result`);
    return 1;
  }
  writeFileSync(file, content);
  console.log(`wrote ${path}`);
  return 0;
}
