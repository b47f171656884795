import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { isObject, type JsonObject } from "./json";

const execFileAsync = promisify(execFile);

/** Thrown for anything the user must fix; the CLI prints the message and exits 1. */
export class PlanReviewError extends Error {
  override readonly name = "PlanReviewError";
}

/** Runs git in `cwd`; resolves stdout, rejects with git's stderr. */
export async function git(cwd: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || (error as Error).message);
  }
}

/** The default synth command: the project's own `stacks/synth.ts`, honouring `CDKTF_OUTDIR`. */
export const DEFAULT_SYNTH_COMMAND = "node --import tsx stacks/synth.ts";

/** How one tree is synthesized. */
export interface SynthOptions {
  /** Directory to run in. */
  readonly dir: string;
  /** Shell command; it must write a cdktf output directory to `$CDKTF_OUTDIR`. */
  readonly command: string;
  readonly outdir: string;
  /** Prepended to PATH so `tsx` and friends resolve from the project's node_modules. */
  readonly binDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** @default 300_000 */
  readonly timeoutMs?: number;
}

/** The last lines of a failed command's output, for the error message. */
function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** Runs the synth command; resolves its combined output, rejects with it when the command fails. */
export function runSynth(options: SynthOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", options.command], {
      cwd: options.dir,
      env: {
        ...options.env,
        CDKTF_OUTDIR: options.outdir,
        CHECKPOINT_DISABLE: "1",
        PATH: `${options.binDir}:${options.env["PATH"] ?? ""}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(error.message));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`\`${options.command}\` exited with ${signal ?? code}:\n${tail(output)}`));
    });
  });
}

/**
 * Reads every stack a synth wrote to `outdir`: the manifest's stacks, or any
 * `stacks/<name>/cdk.tf.json` when there is no manifest. Absolute paths of the
 * tree (the local backend's state path, say) are made relative so the same
 * code synthesized in two directories compares equal.
 */
export function readStacks(outdir: string, treeDirs: readonly string[]): Map<string, JsonObject> {
  const files = new Map<string, string>();
  const manifestPath = join(outdir, "manifest.json");
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
      stacks?: Record<string, { synthesizedStackPath?: string }>;
    };
    for (const [name, entry] of Object.entries(manifest.stacks ?? {})) {
      if (entry.synthesizedStackPath) files.set(name, join(outdir, entry.synthesizedStackPath));
    }
  } else if (existsSync(join(outdir, "stacks"))) {
    for (const name of readdirSync(join(outdir, "stacks"))) {
      const file = join(outdir, "stacks", name, "cdk.tf.json");
      if (existsSync(file)) files.set(name, file);
    }
  }
  const roots = [...new Set(treeDirs.flatMap((dir) => [dir, realpathSync(dir)]))].sort(
    (a, b) => b.length - a.length,
  );
  const stacks = new Map<string, JsonObject>();
  for (const [name, file] of files) {
    let text = readFileSync(file, "utf8");
    for (const root of roots) text = text.split(root).join("<project>");
    const json: unknown = JSON.parse(text);
    if (!isObject(json as JsonObject)) throw new Error(`${file} is not a JSON object`);
    stacks.set(name, json as JsonObject);
  }
  return stacks;
}
