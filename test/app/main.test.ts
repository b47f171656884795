import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/built";
import { freshDataDir } from "../helpers/data-dir";

function start(env: Record<string, string>): ChildProcess {
  // The built bundle (test/global-setup.ts builds it), with a DATA_DIR of its own.
  return spawn(process.execPath, [join(ROOT, "dist/app/server.js")], {
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
}

/** Resolves with the port from the "gateway listening" log line. */
async function listeningPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const record = JSON.parse(line) as { msg?: string; port?: number };
    if (record.msg === "gateway listening" && record.port) return record.port;
  }
  throw new Error("gateway exited before listening");
}

describe("main", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
  });

  it("starts, serves liveness and exits 0 on SIGTERM", async () => {
    child = start({});
    const port = await listeningPort(child);
    const response = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(response.status).toBe(200);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });

  it("fails fast with one message naming every invalid setting", async () => {
    child = start({
      ENVIRONMENT: "production",
      AI_TIMEOUT_SECONDS: "soon",
      OPENAI_API_KEY: "sk-canary-9999",
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr).toContain('AI_TIMEOUT_SECONDS: "soon" is not allowed');
    expect(stderr).toContain("GATEWAY_API_KEYS: missing");
    expect(stderr).not.toContain("sk-canary-9999");
  });
});
