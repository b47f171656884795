import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadPort } from "./tcp-proxy";

/** A real Chroma server (the `chromadb` npm package's `chroma run`) on a loopback port with a temp data dir. */
export interface ChromaServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts Chroma and waits for its heartbeat. */
export async function startChroma(): Promise<ChromaServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "chroma-"));
  const port = await deadPort();
  const cli = join(process.cwd(), "node_modules/chromadb/dist/cli.mjs");
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, "run", "--path", dataDir, "--host", "127.0.0.1", "--port", String(port)],
    { stdio: "ignore", env: { PATH: process.env["PATH"] ?? "", ANONYMIZED_TELEMETRY: "False" } },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/api/v2/heartbeat`);
      if (response.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error("chroma did not start");
}
