import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every test file gets a DATA_DIR of its own (test/setup.ts sets
 * `process.env.DATA_DIR` to a fresh temporary directory before the file runs
 * and removes it afterwards), so PGlite, spool and journal files never collide
 * between files running at the same time.
 */
export function fileDataDir(): string {
  const dir = process.env["DATA_DIR"];
  if (!dir) throw new Error("DATA_DIR is unset: test/setup.ts did not run (is the file under test/?)");
  return dir;
}

/** A fresh directory inside this file's DATA_DIR, for one gateway process or one store of its own. */
export function freshDataDir(): string {
  return mkdtempSync(join(fileDataDir(), "data-"));
}

/** Creates a fresh temporary DATA_DIR for one test file; `cleanup` removes it. */
export function createFileDataDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) };
}
