import { afterEach, describe, expect, it, vi } from "vitest";
import { buildDeps, type ShutdownHook } from "../../app/main";
import { createLogger } from "../../app/observability/logger";
import { METRIC } from "../../app/observability/metric-names";
import { createApp } from "../../app/server";
import { seedLedger } from "../helpers/data-dir";
import { LogCapture, testConfig } from "../helpers/deps";
import { type Listening, listen } from "../helpers/http";
import { fakeEnv, startVendorFakes, type VendorFakes } from "../helpers/ledger-gateway";
import { REDIS_URL, tempDir, uniqueId } from "../helpers/real-services";
import { TcpProxy } from "../helpers/tcp-proxy";

const hello = { model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] };

// Readiness means "send me traffic": the request path serves without Redis
// (uncached, local limits and budget), so a Redis restart must not make every
// pod of both slots NotReady. Redis state shows in /health and the metrics.
describe("readiness with Redis cut (the gateway as main.ts builds it)", () => {
  let fakes: VendorFakes | undefined;
  let server: Listening | undefined;
  let hooks: ShutdownHook[] = [];
  let proxy: TcpProxy | undefined;
  const dirs: (() => void)[] = [];
  afterEach(async () => {
    await server?.close();
    await proxy?.stop();
    for (const hook of hooks.reverse()) await hook();
    hooks = [];
    await fakes?.close();
    for (const cleanup of dirs.splice(0)) cleanup();
  });

  it("keeps /health/ready at 200 and serves chat, while /health and ai_gateway_dependency_up show Redis down", async () => {
    fakes = await startVendorFakes();
    proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const data = tempDir();
    dirs.push(data.cleanup);
    const env = {
      ENVIRONMENT: "development",
      ...fakeEnv(fakes),
      DATA_DIR: seedLedger(data.dir),
      REDIS_URL: proxy.rewrite(REDIS_URL),
      AI_CACHE_ENABLED: "false",
      AI_JOBS_QUEUE: `test-ready-${uniqueId()}`,
    };
    const logger = createLogger({ level: "fatal", destination: new LogCapture() });
    const built = await buildDeps(testConfig(env), logger, env);
    hooks = built.hooks;
    server = await listen(createApp(built.deps));
    const get = async (path: string) => {
      const response = await fetch(`${server!.url}${path}`);
      return { status: response.status, text: await response.text() };
    };

    await vi.waitFor(
      async () => expect(JSON.parse((await get("/health")).text).checks.redis.status).toBe("up"),
      {
        timeout: 10_000,
      },
    );
    expect((await get("/health/ready")).status).toBe(200);
    expect((await get("/metrics")).text).toContain(`${METRIC.dependencyUp}{dependency="redis"} 1`);

    await proxy.stop();

    const health = await get("/health");
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text).checks.redis.status).toBe("down");
    const ready = await get("/health/ready");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text).checks).not.toHaveProperty("redis");
    expect((await get("/metrics")).text).toContain(`${METRIC.dependencyUp}{dependency="redis"} 0`);
    fakes.openai.script({ kind: "answer", text: "served without Redis" });
    const chat = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(hello),
    });
    expect(chat.status).toBe(200);
  });
});
