import { ensureBuilt, GATEWAY_BUNDLE } from "./helpers/built";
import { createLedgerTemplate, LEDGER_TEMPLATE_ENV } from "./helpers/ledger-template";

/**
 * Runs once before the "process" project:
 * - bundles the gateway when dist/app/server.js is missing or older than app/
 *   or scripts/, so every process test runs the same fresh bundle and none
 *   rebuilds it while another is starting it;
 * - creates an initialized, migrated embedded ledger that helpers copy into a
 *   gateway's fresh DATA_DIR (helpers/ledger-template.ts), so each start does
 *   not run PGlite's initdb again. Workers inherit the variable naming it.
 */
export default async function setup(): Promise<() => void> {
  ensureBuilt(GATEWAY_BUNDLE.output, GATEWAY_BUNDLE.script, GATEWAY_BUNDLE.sources);
  const template = await createLedgerTemplate();
  process.env[LEDGER_TEMPLATE_ENV] = template.dir;
  return () => template.cleanup();
}
