import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../../app/server";
import { chat, standInComplete } from "../../helpers/complete";
import { testDeps } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";

async function configFile(content: unknown): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "batch-")), "config.json");
  await writeFile(path, JSON.stringify(content));
  return path;
}

describe("POST /v1/batch", () => {
  let server: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    const stand = standInComplete();
    server = await listen(createApp(testDeps(env, { ops: { complete: stand.complete } })));
    return { url: server.url, stand };
  };
  const post = (url: string, body: unknown) =>
    fetch(`${url}/v1/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("answers every request in input order; one failure does not fail the batch", async () => {
    const { url } = await start();
    const response = await post(url, {
      requests: [chat("one"), chat("two", "fail-502"), { model: "m" }, chat("four")],
    });
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: Record<string, unknown>[] };
    expect(results).toHaveLength(4);
    expect(results[0]).toMatchObject({
      success: true,
      response: { choices: [{ message: { content: "echo: one" } }] },
    });
    expect(results[1]).toEqual({
      success: false,
      error: { message: "Every upstream failed", type: "upstream_error", code: "all_failed", status: 502 },
    });
    expect(results[2]).toEqual({
      success: false,
      error: {
        message: "requests[2]: messages must be a non-empty array",
        type: "invalid_request_error",
        code: "invalid_request",
        status: 400,
      },
    });
    expect(results[3]).toMatchObject({
      success: true,
      response: { choices: [{ message: { content: "echo: four" } }] },
    });
  });

  it("runs with the configured concurrency", async () => {
    const path = await configFile({ limits: { batchConcurrency: 3 } });
    const { url, stand } = await start({ AI_CONFIG_FILE: path });
    const response = await post(url, { requests: Array.from({ length: 10 }, (_, i) => chat(`n${i}`)) });
    expect(response.status).toBe(200);
    expect(stand.calls).toHaveLength(10);
    expect(stand.peak()).toBe(3);
  });

  it("fails when the batch is over the configured size, naming the limit", async () => {
    const path = await configFile({ limits: { maxBatchSize: 2 } });
    const { url, stand } = await start({ AI_CONFIG_FILE: path });
    const response = await post(url, { requests: [chat("a"), chat("b"), chat("c")] });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: "Too many requests in the batch: 3; the limit is 2",
        type: "invalid_request_error",
        code: "batch_too_large",
      },
    });
    expect(stand.calls).toHaveLength(0);
  });

  it("fails when requests is missing or empty", async () => {
    const { url } = await start();
    for (const body of [{}, { requests: [] }, { requests: "x" }]) {
      const response = await post(url, body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        "requests must be a non-empty array of chat requests",
      );
    }
  });
});
