import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

// Runs every bench/*.bench.ts in its own process (so one benchmark's heap and
// sockets never skew the next), or only those whose names contain an argument.
// Arguments from the first `--flag` on go to the benches (`npm run bench -- pipeline --variant stream`).
const args = process.argv.slice(2);
const flagAt = args.findIndex((arg) => arg.startsWith("--"));
const filters = flagAt === -1 ? args : args.slice(0, flagAt);
const benchArgs = flagAt === -1 ? [] : args.slice(flagAt);
const files = readdirSync(__dirname)
  .filter((file) => file.endsWith(".bench.ts"))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  const result = spawnSync(
    process.execPath,
    [require.resolve("tsx/cli"), join(__dirname, file), ...benchArgs],
    {
      stdio: "inherit",
    },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
