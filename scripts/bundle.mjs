// Bundles the gateway into dist/app/server.js, the one file the container runs.
import { build } from "esbuild";

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
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(
  `dist/app/server.js bundled in ${Date.now() - started} ms (${(bytes / 1024).toFixed(0)} KiB with map)`,
);
