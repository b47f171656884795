// Bundles the gateway into dist/app/server.js, the one file the container runs.
import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
// PGlite's ESM build finds its files through import.meta.url, which a CJS bundle
// does not have; its CJS build uses __filename, which works beside the bundle.
const pgliteCjs = {
  name: "pglite-cjs",
  setup(builder) {
    builder.onResolve({ filter: /^@electric-sql\/pglite$/ }, () => ({
      path: require.resolve("@electric-sql/pglite"),
    }));
  },
};

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
  // Optional native bindings the libraries probe for and fall back from.
  external: ["pg-native", "msgpackr-extract", "bufferutil", "utf-8-validate"],
  define: { "process.env.GATEWAY_BUNDLED": '"1"' },
  logLevel: "warning",
  plugins: [pgliteCjs],
});
// The embedded ledger database (PGlite) loads these beside the bundle (app/ledger/db.ts).
const pgliteDist = dirname(require.resolve("@electric-sql/pglite"));
for (const file of ["pglite.wasm", "initdb.wasm", "pglite.data"]) {
  copyFileSync(join(pgliteDist, file), join("dist/app", file));
}
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(
  `dist/app/server.js bundled in ${Date.now() - started} ms (${(bytes / 1024).toFixed(0)} KiB with map)`,
);
