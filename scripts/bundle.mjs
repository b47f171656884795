// Bundles the gateway into dist/app/server.js, the one file the container runs.
// PGlite loads its WebAssembly and data files relative to its own module, which
// a bundle breaks, so it stays external and its runtime files (CommonJS build,
// wasm, data, the pgvector extension) are copied to dist/app/node_modules.
import { cpSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";

const RUNTIME_PACKAGES = ["@electric-sql/pglite", "@electric-sql/pglite-pgvector"];

const started = Date.now();
const result = await build({
  entryPoints: { server: "app/main.ts" },
  outdir: "dist/app",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: "linked",
  minifySyntax: true,
  legalComments: "none",
  metafile: true,
  // Optional native bindings the libraries probe for and fall back from, and PGlite (copied below).
  external: ["pg-native", "msgpackr-extract", "bufferutil", "utf-8-validate", ...RUNTIME_PACKAGES],
  define: { "process.env.GATEWAY_BUNDLED": '"1"' },
  logLevel: "warning",
});

rmSync("dist/app/node_modules", { recursive: true, force: true });
const SKIPPED_DIRS = new Set(["contrib", "templating", "live", "worker", "vector"]);
for (const name of RUNTIME_PACKAGES) {
  const source = join("node_modules", name);
  cpSync(source, join("dist/app/node_modules", name), {
    recursive: true,
    filter: (path) => {
      const file = basename(path);
      if (statSync(path).isDirectory()) return path === source || !SKIPPED_DIRS.has(file);
      return file === "package.json" || /\.(cjs|wasm|data)$/.test(file) || file === "vector.tar.gz";
    },
  });
}

const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(
  `dist/app/server.js bundled in ${Date.now() - started} ms (${(bytes / 1024).toFixed(0)} KiB with map; PGlite runtime in dist/app/node_modules)`,
);
