import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
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

/**
 * A fresh directory inside this file's DATA_DIR, for one gateway process or
 * one store of its own; in the "process" project it holds an initialized,
 * empty embedded ledger (helpers/ledger-template.ts).
 */
export function freshDataDir(): string {
  return seedLedger(mkdtempSync(join(fileDataDir(), "data-")));
}

/** Creates a fresh temporary DATA_DIR for one test file; `cleanup` removes it. */
export function createFileDataDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

/**
 * The environment variable through which test/global-setup.ts hands workers
 * the path of an embedded ledger (PGlite) already initialized and migrated by
 * this checkout's code (helpers/ledger-template.ts).
 */
export const LEDGER_TEMPLATE_ENV = "TEST_LEDGER_TEMPLATE";

/**
 * Copies the template ledger into `dataDir/ledger` when a template exists and
 * `dataDir` has no ledger yet, so a gateway started on `dataDir` opens an
 * initialized, migrated database. Without a template (a file run outside the
 * "process" project) the gateway initializes its own, as in production.
 */
export function seedLedger(dataDir: string): string {
  const template = process.env[LEDGER_TEMPLATE_ENV];
  const target = join(dataDir, "ledger");
  if (template && existsSync(template) && !existsSync(target)) cpSync(template, target, { recursive: true });
  return dataDir;
}
