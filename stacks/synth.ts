import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buildApp } from "./main";

/** One line of the synth summary. */
export interface StackSummary {
  readonly stack: string;
  readonly providers: string[];
  readonly resources: number;
  readonly path: string;
}

/** Synthesizes every stack into `outdir` and summarizes what each holds. */
export function synthAll(outdir = "cdktf.out"): StackSummary[] {
  process.env["CHECKPOINT_DISABLE"] ??= "1";
  const app = buildApp({ outdir });
  app.synth();
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as {
    stacks: Record<string, { synthesizedStackPath: string }>;
  };
  return Object.entries(manifest.stacks).map(([stack, entry]) => {
    const path = join(outdir, entry.synthesizedStackPath);
    const json = JSON.parse(readFileSync(path, "utf8")) as {
      provider?: Record<string, unknown>;
      resource?: Record<string, Record<string, unknown>>;
    };
    const resources = Object.values(json.resource ?? {}).reduce(
      (sum, byName) => sum + Object.keys(byName).length,
      0,
    );
    return {
      stack,
      providers: Object.keys(json.provider ?? {}),
      resources,
      path: relative(process.cwd(), path),
    };
  });
}

if (require.main === module) {
  const started = performance.now();
  for (const line of synthAll(process.env["CDKTF_OUTDIR"] ?? "cdktf.out")) {
    console.log(
      `${line.stack.padEnd(12)} provider=${line.providers.join(",").padEnd(10)} resources=${String(line.resources).padStart(3)}  ${line.path}`,
    );
  }
  console.log(`synthesized in ${Math.round(performance.now() - started)} ms`);
}
