import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./built";
import { freshDataDir } from "./data-dir";

/**
 * The built bundle (test/global-setup.ts builds it) run by node itself so
 * signals reach it, with its log lines parsed as they arrive; for the tests of
 * main.ts's start-up, signals and reloads.
 */
export interface Child {
  readonly process: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first log line matching. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export function start(env: Record<string, string>): Child {
  // The built bundle (test/global-setup.ts builds it), run by node itself so signals reach it.
  const child = spawn(process.execPath, [join(ROOT, "dist/app/server.js")], {
    env: {
      PATH: process.env["PATH"] ?? "",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DATA_DIR: freshDataDir(),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const waiter of waiters.splice(0)) {
      if (waiter.match(line)) waiter.resolve(line);
      else waiters.push(waiter);
    }
  });
  return {
    process: child,
    lines,
    waitFor: (match) =>
      new Promise((resolve, reject) => {
        const found = lines.find(match);
        if (found) return resolve(found);
        waiters.push({ match, resolve });
        child.once("exit", () => reject(new Error("gateway exited")));
      }),
  };
}

export const listening = async (child: Child) =>
  Number((await child.waitFor((line) => line["msg"] === "gateway listening"))["port"]);
