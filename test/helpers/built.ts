import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { freshDataDir } from "./data-dir";

/** The repository root. */
export const ROOT = join(__dirname, "../..");

function newestSource(dir: string): number {
  return readdirSync(dir).reduce((newest, entry) => {
    const path = join(dir, entry);
    const stat = statSync(path);
    return Math.max(newest, stat.isDirectory() ? newestSource(path) : stat.mtimeMs);
  }, 0);
}

/** Runs a build script unless `output` exists and is newer than every file under `sources`. */
export function ensureBuilt(output: string, script: string, sources: readonly string[]): void {
  const target = join(ROOT, output);
  const newest = Math.max(...sources.map((dir) => newestSource(join(ROOT, dir))));
  if (existsSync(target) && statSync(target).mtimeMs >= newest) return;
  execFileSync(process.execPath, [join(ROOT, script)], { cwd: ROOT, stdio: "pipe" });
}

/** The gateway bundle: its output, the script that builds it and the directories it is built from. */
export const GATEWAY_BUNDLE = {
  output: "dist/app/server.js",
  script: "scripts/bundle.mjs",
  sources: ["app", "scripts"],
} as const;

/** A built gateway (`dist/app/server.js`) running as a child process. */
export interface BuiltGateway {
  readonly child: import("node:child_process").ChildProcess;
  readonly url: string;
  /** Every JSON log line so far. */
  readonly records: Record<string, unknown>[];
}

/**
 * Builds the bundle if needed and starts it on an ephemeral loopback port with
 * only `env` (plus PATH and a DATA_DIR of its own) in its environment;
 * resolves once it listens.
 */
export async function startBuiltGateway(env: Readonly<Record<string, string>>): Promise<BuiltGateway> {
  const { spawn } = await import("node:child_process");
  const { createInterface } = await import("node:readline");
  ensureBuilt(GATEWAY_BUNDLE.output, GATEWAY_BUNDLE.script, GATEWAY_BUNDLE.sources);
  const child = spawn(process.execPath, [join(ROOT, GATEWAY_BUNDLE.output)], {
    env: {
      PATH: process.env["PATH"] ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DATA_DIR: freshDataDir(),
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const records: Record<string, unknown>[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      if (record["msg"] === "gateway listening") resolve(record["port"] as number);
    });
    child.once("exit", () => reject(new Error("the gateway exited before listening")));
  });
  return { child, url: `http://127.0.0.1:${port}`, records };
}
