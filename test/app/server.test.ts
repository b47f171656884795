import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../app/server";
import { testDeps } from "../helpers/deps";
import { type Listening, listen } from "../helpers/http";

describe("createApp", () => {
  let server: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("answers GET /health/live with 200", async () => {
    server = await listen(createApp(testDeps()));
    const response = await fetch(`${server.url}/health/live`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("echoes a well-formed x-request-id and generates one otherwise", async () => {
    server = await listen(createApp(testDeps()));
    const echoed = await fetch(`${server.url}/health/live`, { headers: { "x-request-id": "abc-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("abc-123");
    const generated = await fetch(`${server.url}/health/live`, {
      headers: { "x-request-id": "bad id\twith tab" },
    });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers unknown routes with an OpenAI-shaped 404", async () => {
    server = await listen(createApp(testDeps()));
    const response = await fetch(`${server.url}/v1/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { message: "No route for GET /v1/nothing", type: "not_found_error", code: "route_not_found" },
    });
  });
});
