import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "../helpers/built";

const SERVER = join(ROOT, "dist/app/server.js");

describe("the bundled gateway", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "ai-gateway-bundle-"));
  let child: ChildProcess | undefined;

  beforeAll(() => {
    ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts from dist/app/server.js, answers /health/live and exits cleanly on SIGTERM", async () => {
    // Run from another directory: the bundle must not depend on the repository's node_modules.
    child = spawn(process.execPath, [SERVER], {
      cwd: dataDir,
      env: {
        PATH: process.env["PATH"],
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: dataDir,
        ENVIRONMENT: "development",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    let port = 0;
    for await (const line of lines) {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === "gateway listening" && entry.port) {
        port = entry.port;
        break;
      }
    }
    expect(port).toBeGreaterThan(0);

    const response = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });

    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it("runs PGlite with pgvector from the files copied into dist/app", () => {
    const script = `
      const from = ${JSON.stringify(join(ROOT, "dist/app"))};
      const pglitePath = require.resolve("@electric-sql/pglite", { paths: [from] });
      const vectorPath = require.resolve("@electric-sql/pglite-pgvector", { paths: [from] });
      if (!pglitePath.startsWith(from) || !vectorPath.startsWith(from)) throw new Error("resolved outside dist: " + pglitePath);
      const { PGlite } = require(pglitePath);
      const { vector } = require(vectorPath);
      (async () => {
        const db = await PGlite.create({ extensions: { vector } });
        await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
        const result = await db.query("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector AS distance");
        process.stdout.write(JSON.stringify(result.rows));
        await db.close();
      })().catch((error) => { console.error(error); process.exit(1); });
    `;
    const output = execFileSync(process.execPath, ["-e", script], { cwd: dataDir, encoding: "utf8" });
    expect(JSON.parse(output)).toEqual([{ distance: 2 }]);
  });

  it("is packaged by a multi-stage Dockerfile as a non-root image with a health check", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/src\/dist\/app \/app$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--enable-source-maps", "server\.js"\]$/m);
  });
});
