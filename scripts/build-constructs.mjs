// Builds the library surface `ai-deploy-kit/constructs`: a CommonJS bundle of
// constructs/index.ts in dist/constructs/index.js (npm packages stay external:
// cdktf, constructs and the two provider packages are peer dependencies; the
// Grafana Foundation SDK, a build-time devDependency, is bundled so a user's
// install needs nothing more) and its declarations in dist/types via tsc.
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
  plugins: [
    {
      name: "external-but-grafana-sdk",
      setup(build) {
        // The SDK and what it imports (tslib) are bundled; every other package stays external.
        const bundled = (args) =>
          args.path.startsWith("@grafana/grafana-foundation-sdk") ||
          args.importer.includes("/node_modules/@grafana/grafana-foundation-sdk/");
        build.onResolve({ filter: /^[^./]/ }, (args) =>
          bundled(args) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
});
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.constructs.json"], { stdio: "inherit" });
console.log(`dist/constructs/index.js and dist/types built in ${Date.now() - started} ms`);
