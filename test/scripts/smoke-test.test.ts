import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const script = resolve(__dirname, "../../scripts/smoke-test.sh");
let bin = "";
let server: Server;
let port = 0;
let healthStatus = 200;
const seen: Array<{ path: string; authorization: string | undefined; body: string }> = [];

// kubectl stand-in: the Service has pods (unless FAKE_PARKED=1), port-forward idles
// while the test's server answers on the "forwarded" local port itself.
const FAKE_KUBECTL = `#!/bin/sh
case "$*" in
  *"get endpoints"*) [ "\${FAKE_PARKED:-0}" = 1 ] || echo "10.0.0.5" ;;
  *"get service"*) echo 8080 ;;
  *port-forward*) exec sleep 30 ;;
esac
`;

beforeAll(async () => {
  bin = mkdtempSync(join(tmpdir(), "smoke-bin-"));
  writeFileSync(join(bin, "kubectl"), FAKE_KUBECTL);
  chmodSync(join(bin, "kubectl"), 0o755);
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      seen.push({ path: request.url ?? "", authorization: request.headers.authorization, body });
      const status =
        request.url?.startsWith("/health") && request.url !== "/health/live" ? healthStatus : 200;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ status: status === 200 ? "healthy" : "degraded" }));
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  rmSync(bin, { recursive: true, force: true });
});

function smoke(env: Record<string, string> = {}) {
  seen.length = 0;
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      "bash",
      [script, "ai-staging", "ai-gateway-preview", String(port)],
      { env: { PATH: `${bin}:${process.env["PATH"] ?? ""}`, ...env } },
      (error, stdout, stderr) => done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe("scripts/smoke-test.sh", () => {
  it("checks the health endpoints and one chat call, sending the key without printing it", async () => {
    healthStatus = 200;
    const result = await smoke({ SMOKE_API_KEY: "client-smoke-key-123", SMOKE_MODEL: "gpt-4o-mini" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "GET /health/live -> 200\nGET /health/ready -> 200\nGET /health -> 200\nPOST /v1/chat/completions -> 200\n",
    );
    expect(result.stdout + result.stderr).not.toContain("client-smoke-key-123");
    const chat = seen.find((request) => request.path === "/v1/chat/completions")!;
    expect(chat.authorization).toBe("Bearer client-smoke-key-123");
    expect(JSON.parse(chat.body)).toMatchObject({ model: "gpt-4o-mini", max_tokens: 5 });
  });

  it("fails when a health endpoint is not 200", async () => {
    healthStatus = 503;
    const result = await smoke();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("smoke-test: /health/ready answered 503 on ai-gateway-preview");
  });

  it("fails on a parked slot unless told that parking is expected", async () => {
    const parked = await smoke({ FAKE_PARKED: "1" });
    expect(parked.code).toBe(1);
    expect(parked.stderr).toContain("smoke-test: service ai-gateway-preview in ai-staging has no ready pods");
    const allowed = await smoke({ FAKE_PARKED: "1", SMOKE_ALLOW_PARKED: "1" });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe(
      "smoke-test: ai-gateway-preview in ai-staging has no ready pods (parked slot); nothing to test\n",
    );
  });
});
