import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startOpenAIFake } from "../../fakes";
import { type BuiltGateway, ensureBuilt, startBuiltGateway } from "../../helpers/built";
import { seedLedger } from "../../helpers/data-dir";
import { tempDir } from "../../helpers/real-services";

// Issue 14, incident controls: maintenance mode switched by AI_CONFIG_FILE and a real SIGHUP reload
// of the built gateway.

let openai: FakeUpstream;
let child: ChildProcess | undefined;
const data = tempDir();
const configFile = join(data.dir, "gateway.json");
/**
 * Replaces the config file in one step, as an operator's deploy tool or a ConfigMap update does:
 * the gateway also reloads on file change, and a plain write could be read half-written
 * ("not valid JSON") under load, which is what CI saw.
 */
function writeConfig(text: string): void {
  writeFileSync(`${configFile}.tmp`, text);
  renameSync(`${configFile}.tmp`, configFile);
}

beforeAll(async () => {
  ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  openai = await startOpenAIFake();
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await openai.close();
  data.cleanup();
});

const chatBody = { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] };

describe("maintenance mode", () => {
  it("answers chat, job submissions and batch 503 with the message and Retry-After while the rest keeps working", async () => {
    writeFileSync(configFile, JSON.stringify({ maintenance: { enabled: false } }));
    const gateway: BuiltGateway = await startBuiltGateway({
      DATA_DIR: seedLedger(data.dir),
      AI_CONFIG_FILE: configFile,
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      AI_MAX_RETRIES: "0",
      OPENAI_API_KEY: "sk-test-maintenance",
      OPENAI_BASE_URL: `${openai.origin}/v1`,
      GATEWAY_API_KEYS: "client-key",
    });
    child = gateway.child;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method,
        headers: { "content-type": "application/json", authorization: "Bearer client-key" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const logged = (msg: string) => gateway.records.filter((record) => record["msg"] === msg).length;
    const gauge = async () =>
      /^ai_gateway_maintenance_mode (\d)/m.exec(await (await call("GET", "/metrics")).text())?.[1];
    const reload = async (content: unknown, msg: string) => {
      const before = logged(msg);
      writeConfig(JSON.stringify(content));
      child!.kill("SIGHUP");
      while (logged(msg) === before) await new Promise((resolve) => setTimeout(resolve, 20));
    };

    expect((await call("POST", "/v1/chat/completions", chatBody)).status).toBe(200);
    const job = (await (await call("POST", "/v1/jobs", chatBody)).json()) as { id: string };
    expect(await gauge()).toBe("0");

    const message = "Planned provider migration until 16:00 UTC; see status.example.com";
    await reload(
      { maintenance: { enabled: true, message, retryAfterSeconds: 120 } },
      "maintenance mode on: chat, jobs and batch answer 503",
    );
    const on = gateway.records.find((record) => record["msg"]?.toString().startsWith("maintenance mode on"));
    expect(on).toMatchObject({ enabled: true, message, retryAfterSeconds: 120 });

    for (const [path, body] of [
      ["/v1/chat/completions", chatBody],
      ["/v1/chat/completions", { ...chatBody, stream: true }],
      ["/V1/Chat/Completions/", chatBody],
      ["/v1/jobs", chatBody],
      ["/v1/batch", { requests: [chatBody] }],
      ["/v1/responses", { model: "gpt-4o", input: "hi" }],
      ["/v1/embeddings", { model: "text-embedding-3-small", input: "hi" }],
    ] as const) {
      const refused = await call("POST", path, body);
      expect(refused.status, path).toBe(503);
      expect(refused.headers.get("retry-after"), path).toBe("120");
      expect(await refused.json(), path).toEqual({
        error: { message, type: "server_error", code: "maintenance" },
      });
    }
    const upstreamCalls = openai.requests.length;
    // Health, metrics, usage, models and polls of accepted jobs keep working.
    for (const path of ["/health/live", "/health/ready", "/v1/models", "/v1/usage", `/v1/jobs/${job.id}`]) {
      expect((await call("GET", path)).status, path).toBe(200);
    }
    expect(await gauge()).toBe("1");
    expect(openai.requests.length).toBe(upstreamCalls);

    await reload({ maintenance: { enabled: false } }, "maintenance mode off: serving chat, jobs and batch");
    expect((await call("POST", "/v1/chat/completions", chatBody)).status).toBe(200);
    expect(await gauge()).toBe("0");

    // An invalid switch is refused by the reload, keeping the last good configuration.
    writeConfig(JSON.stringify({ maintenance: { enabled: "yes" } }));
    child.kill("SIGHUP");
    while (
      !gateway.records.some(
        (record) => record["msg"] === "config reload rejected; keeping the last good configuration",
      )
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    const rejected = gateway.records.find(
      (record) => record["msg"] === "config reload rejected; keeping the last good configuration",
    );
    expect(JSON.stringify(rejected?.["problems"])).toContain("maintenance.enabled: must be true or false");
    expect((await call("POST", "/v1/chat/completions", chatBody)).status).toBe(200);

    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });
});
