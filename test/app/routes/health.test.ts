import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import type { Redis } from "ioredis";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedis } from "../../../app/data/redis";
import { Lifecycle } from "../../../app/lifecycle";
import {
  chromaCheck,
  type HealthCheck,
  ProviderProbe,
  postgresCheck,
  redisCheck,
} from "../../../app/observability/health";
import type { HealthRouteOptions } from "../../../app/routes/health";
import { createApp } from "../../../app/server";
import { type ChromaServer, startChroma } from "../../helpers/chroma";
import { testDeps } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";
import { DATABASE_URL, REDIS_URL } from "../../helpers/real-services";
import { deadPort, startBlackHole, TcpProxy } from "../../helpers/tcp-proxy";

interface HealthBody {
  status: string;
  timestamp: string;
  version: string;
  failing?: string[];
  checks: Record<string, { status: string; error?: string; [key: string]: unknown }>;
}

describe("health routes", () => {
  let server: Listening | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  let chroma: ChromaServer;
  let pool: pg.Pool;
  let pglite: PGlite;

  beforeAll(async () => {
    [chroma, pglite] = await Promise.all([
      startChroma(),
      PGlite.create({ extensions: { vector } }).then(async (db) => {
        await db.exec("create extension if not exists vector");
        return db;
      }),
    ]);
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await Promise.all([chroma?.stop(), pool?.end(), pglite?.close()]);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const redis = (url: string): Redis => {
    const deps = testDeps();
    const client = createRedis({ url, logger: deps.logger, name: "health-test" });
    cleanups.push(() => client.disconnect());
    return client;
  };

  const start = async (health: HealthRouteOptions, lifecycle?: Lifecycle) => {
    server = await listen(createApp(testDeps({}, { ops: { health, ...(lifecycle ? { lifecycle } : {}) } })));
    return server.url;
  };

  const get = async (url: string) => {
    const response = await fetch(url);
    return { status: response.status, body: (await response.json()) as HealthBody };
  };

  it("reports Redis, Postgres with the vector extension, and a real Chroma as healthy", async () => {
    const url = await start({
      version: "1.2.3",
      ready: { redis: redisCheck(redis(REDIS_URL)) },
      details: {
        postgres: postgresCheck(pool),
        vectorstore: postgresCheck(pglite),
        chroma: chromaCheck(chroma.url),
      },
    });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", checks: { redis: { status: "up" } } });

    const health = await get(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: "healthy",
      version: "1.2.3",
      checks: {
        redis: { status: "up" },
        postgres: { status: "up", vector: false },
        vectorstore: { status: "up", vector: true },
        chroma: { status: "up" },
      },
    });
    expect(Number.isNaN(Date.parse(health.body.timestamp))).toBe(false);
  });

  it("answers 503 naming the failing check when Redis is on a dead port", async () => {
    const url = await start({ ready: { redis: redisCheck(redis(`redis://127.0.0.1:${await deadPort()}`)) } });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe("not_ready");
    expect(ready.body.failing).toEqual(["redis"]);
    expect(ready.body.checks["redis"]?.status).toBe("down");
  });

  it("answers within the per-check deadline when a dependency hangs", async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const hangs: HealthCheck = () => new Promise(() => {});
    const url = await start({
      timeoutMs: 150,
      ready: { ledger: hangs },
      details: { chroma: chromaCheck(`http://127.0.0.1:${hole.port}`) },
    });
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.failing).toEqual(["ledger"]);
    expect(ready.body.checks["ledger"]?.error).toBe("timed out after 150 ms");
    const health = await get(`${url}/health`);
    expect(health.status).toBe(503);
    expect(health.body.status).toBe("degraded");
    expect(health.body.checks["chroma"]).toMatchObject({ status: "down", error: "timed out after 150 ms" });
  });

  it("flips readiness to 503 when Redis's connection is cut mid-load and back to 200 when it returns", async () => {
    const [host, port] = new URL(REDIS_URL).host.split(":");
    const proxy = new TcpProxy(host ?? "127.0.0.1", Number(port ?? 6379));
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const url = await start({
      timeoutMs: 500,
      ready: { redis: redisCheck(redis(`redis://127.0.0.1:${proxy.port}`)) },
    });
    await vi.waitFor(async () => expect((await get(`${url}/health/ready`)).status).toBe(200), {
      timeout: 5_000,
    });

    // Load while the connection is cut: every probe answers, none hangs or 500s.
    const load = Array.from({ length: 20 }, () => fetch(`${url}/health/ready`).then((r) => r.status));
    await proxy.stop();
    const statuses = await Promise.all(load);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    await vi.waitFor(
      async () => {
        const ready = await get(`${url}/health/ready`);
        expect(ready.status).toBe(503);
        expect(ready.body.failing).toEqual(["redis"]);
      },
      { timeout: 5_000 },
    );

    await proxy.start();
    await vi.waitFor(async () => expect((await get(`${url}/health/ready`)).status).toBe(200), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it("reports provider breaker states and probes each provider at most once per interval", async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const calls: string[] = [];
    const probe = new ProviderProbe({
      clock,
      intervalMs: 60_000,
      listModels: async (provider) => {
        calls.push(provider);
        if (provider === "claude") throw new Error("401 from https://user:sk-secret@api.example/v1");
        return ["m1", "m2"];
      },
    });
    let openaiState: "closed" | "open" = "closed";
    const url = await start({
      clock,
      providers: {
        states: () => ({ openai: { state: openaiState, failures: 0 } }),
        probe,
        routed: () => ["openai", "claude"],
      },
    });
    const first = await get(`${url}/health`);
    expect(first.status).toBe(503);
    expect(first.body.checks["providers"]).toMatchObject({
      openai: { status: "up", breaker: "closed", probe: { status: "up", models: 2 } },
      claude: { status: "down", breaker: "closed", probe: { status: "down" } },
    });
    expect(JSON.stringify(first.body)).not.toContain("sk-secret");

    await Promise.all([get(`${url}/health`), get(`${url}/health`)]);
    expect(calls.sort()).toEqual(["claude", "openai"]);

    openaiState = "open";
    const open = await get(`${url}/health`);
    expect(open.body.checks["providers"]).toMatchObject({ openai: { status: "down", breaker: "open" } });

    now += 60_000;
    await get(`${url}/health`);
    expect(calls.sort()).toEqual(["claude", "claude", "openai", "openai"]);
  });

  it("answers readiness 503 as soon as shutdown begins while liveness stays 200", async () => {
    const lifecycle = new Lifecycle();
    const url = await start({ ready: {} }, lifecycle);
    expect((await get(`${url}/health/ready`)).status).toBe(200);
    lifecycle.beginShutdown();
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.failing).toEqual(["shutdown"]);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });
});
