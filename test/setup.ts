import { afterAll } from "vitest";
import { createFileDataDir } from "./helpers/data-dir";

// Each test file runs with a DATA_DIR of its own (helpers/data-dir.ts), so
// PGlite, spool and journal files never collide between files; child
// processes that inherit the environment inherit it too.
const dataDir = createFileDataDir();
process.env["DATA_DIR"] = dataDir.dir;
afterAll(() => dataDir.cleanup());
