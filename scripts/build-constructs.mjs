// Builds the library surface `ai-deploy-kit/constructs`: a CommonJS bundle of
// constructs/index.ts in dist/constructs/index.js (every npm package stays
// external: cdktf, constructs and the two provider packages are peer
// dependencies) and its declarations in dist/types via tsc.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { build } from "esbuild";

const started = Date.now();
await build({
  entryPoints: { index: "constructs/index.ts" },
  outdir: "dist/constructs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  packages: "external",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.constructs.json"], { stdio: "inherit" });
console.log(`dist/constructs/index.js and dist/types built in ${Date.now() - started} ms`);
