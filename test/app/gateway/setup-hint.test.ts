import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../../app/server";
import { testDeps } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Issue 14 finding 12: the default development settings route to Ollama; with none
// running, the 502 says what to do instead of only "connection failed".
describe("the 502 with no Ollama running", () => {
  let server: Listening | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("tells the developer to start Ollama at OLLAMA_BASE_URL or set AI_PROVIDER and its key", async () => {
    const deps = testDeps({ OLLAMA_BASE_URL: `http://127.0.0.1:${await closedPort()}` });
    server = await listen(createApp(deps));
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "llama3.2:3b", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("all_providers_failed");
    expect(body.error.message).toMatch(
      /^All providers failed: ollama\/llama3\.2:3b: upstream \(ollama: connection failed/,
    );
    expect(body.error.message).toContain("start it at OLLAMA_BASE_URL");
    expect(body.error.message).toContain("set AI_PROVIDER and that provider's API key");
    await deps.gateway.close();
  });
});
