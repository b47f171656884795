import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The repository root. */
export const ROOT = join(__dirname, "../..");

function newestSource(dir: string): number {
  return readdirSync(dir).reduce((newest, entry) => {
    const path = join(dir, entry);
    const stat = statSync(path);
    return Math.max(newest, stat.isDirectory() ? newestSource(path) : stat.mtimeMs);
  }, 0);
}

/** Runs a build script unless `output` exists and is newer than every file under `sources`. */
export function ensureBuilt(output: string, script: string, sources: readonly string[]): void {
  const target = join(ROOT, output);
  const newest = Math.max(...sources.map((dir) => newestSource(join(ROOT, dir))));
  if (existsSync(target) && statSync(target).mtimeMs >= newest) return;
  execFileSync(process.execPath, [join(ROOT, script)], { cwd: ROOT, stdio: "pipe" });
}
