import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, symlink, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes";
import { listening, start } from "../helpers/bundle-child";

describe("main: operations", () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("on SIGTERM lets an in-flight chat request finish with 200, then exits 0", async () => {
    const openai = await startOpenAIFake();
    cleanups.push(() => openai.close());
    // The upstream answers slowly, so the chat request is still in flight when SIGTERM arrives.
    openai.script({ kind: "answer", text: "finished during shutdown", delayMs: 800 });
    const child = start({
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      OPENAI_API_KEY: "sk-test-shutdown",
      OPENAI_BASE_URL: `${openai.origin}/v1`,
    });
    children.push(child.process);
    const port = await listening(child);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const inFlight = fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    });
    await openai.waitForRequests(1);
    child.process.kill("SIGTERM");
    await child.waitFor((line) => line["msg"] === "shutting down");
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message
        .content,
    ).toBe("finished during shutdown");
    const [code] = await once(child.process, "exit");
    expect(code).toBe(0);
  });

  it("keeps in-flight /health answering while draining (slow Chroma heartbeat)", async () => {
    const held: ServerResponse[] = [];
    let arrived: () => void = () => {};
    const heartbeatArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const chroma = createServer((_req, res) => {
      held.push(res);
      arrived();
    });
    chroma.listen(0, "127.0.0.1");
    await once(chroma, "listening");
    cleanups.push(() => chroma.close());
    const child = start({ CHROMA_URL: `http://127.0.0.1:${(chroma.address() as AddressInfo).port}` });
    children.push(child.process);
    const port = await listening(child);
    const inFlight = fetch(`http://127.0.0.1:${port}/health`);
    await heartbeatArrived;
    child.process.kill("SIGTERM");
    await child.waitFor((line) => line["msg"] === "shutting down");
    for (const res of held) res.end('{"nanosecond heartbeat":1}');
    const response = await inFlight;
    const body = (await response.json()) as { checks: { chroma: { status: string } } };
    expect(body.checks.chroma.status).toBe("up");
    expect((await once(child.process, "exit"))[0]).toBe(0);
  });

  it("reloads AI_CONFIG_FILE on SIGHUP", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sighup-"));
    const real = join(dir, "real.json");
    const watchedDir = join(dir, "watched");
    await writeFile(real, JSON.stringify({ limits: { maxMessages: 10 } }));
    // The watched path is a symlink into another directory, so writes to the target raise no
    // event where the gateway watches: only SIGHUP (or the 5-minute poll) can pick them up.
    await import("node:fs/promises").then((fs) => fs.mkdir(watchedDir));
    await symlink(real, join(watchedDir, "config.json"));
    const child = start({ AI_CONFIG_FILE: join(watchedDir, "config.json") });
    children.push(child.process);
    await listening(child);
    await writeFile(real, JSON.stringify({ limits: { maxMessages: 20 } }));
    child.process.kill("SIGHUP");
    const reloaded = await child.waitFor((line) => line["msg"] === "config reloaded");
    expect(reloaded).toMatchObject({ reason: "SIGHUP", changed: ["file"] });
    child.process.kill("SIGTERM");
    expect((await once(child.process, "exit"))[0]).toBe(0);
  });
});
