import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCostLedger } from "../../app/ledger/ledger";
import { createLogger } from "../../app/observability/logger";
import { LEDGER_TEMPLATE_ENV } from "./data-dir";

export { LEDGER_TEMPLATE_ENV };

/**
 * Creates the template: opens the ledger once in a temporary DATA_DIR and
 * closes it cleanly. A gateway started on a fresh DATA_DIR otherwise runs
 * PGlite's initdb and every migration first, which took 19 of its 24 seconds
 * of start-up at a load of 10 on two cores; the process tests start dozens.
 */
export async function createLedgerTemplate(): Promise<{ dir: string; cleanup(): void }> {
  const dataDir = mkdtempSync(join(tmpdir(), "ai-deploy-kit-ledger-template-"));
  const ledger = await openCostLedger({ dataDir, logger: createLogger({ level: "fatal" }) });
  await ledger.close();
  return {
    dir: join(dataDir, "ledger"),
    cleanup: () => rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 }),
  };
}
