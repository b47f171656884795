import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

// Runs every bench/*.bench.ts in its own process (so one benchmark's heap and
// sockets never skew the next), or only those whose names contain an argument.
// Arguments starting with "--" go to the benchmarks (`npm run bench -- ledger-scale --rows 2000000`).
const filters = process.argv
  .slice(2)
  .filter((arg, index, all) => !arg.startsWith("--") && !all[index - 1]?.startsWith("--"));
const passed = process.argv.slice(2).filter((arg) => !filters.includes(arg));
const files = readdirSync(__dirname)
  .filter((file) => file.endsWith(".bench.ts"))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  const result = spawnSync(process.execPath, [require.resolve("tsx/cli"), join(__dirname, file), ...passed], {
    stdio: "inherit",
  });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
