import { ConfigStore } from "../app/config/config-store";
import { loadConfig } from "../app/config/load-config";
import { createRedis } from "../app/data/redis";
import { ChatGateway } from "../app/gateway/chat-gateway";
import { GatewayEvents } from "../app/observability/events";
import { redisCheck } from "../app/observability/health";
import { createLogger } from "../app/observability/logger";
import { createMetrics } from "../app/observability/metrics";
import { ClientRateLimiter } from "../app/security/rate-limit";
import { createApp } from "../app/server";
import { listen } from "../test/helpers/http";
import { load, report } from "./_autocannon";

// What the operations surface costs per request: client auth (SHA-256 and a
// constant-time compare), a Redis-backed rate limit, the JSON body limit and
// prompt checks, measured on POST /v1/batch with a completion that answers at
// once; plus readiness (a Redis PING) and a /metrics scrape.
async function main(): Promise<void> {
  const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379";
  const logger = createLogger({ level: "warn" });
  const events = new GatewayEvents();
  const config = new ConfigStore(
    loadConfig({ GATEWAY_API_KEYS: "gk-bench-1,gk-bench-2", REDIS_URL: redisUrl, DATA_DIR: ".data/bench" }),
  );
  // A limit far above what the run can reach, so every request pays for the Redis round trip.
  config.set({ ...config.get(), file: { ...config.get().file, limits: { requestsPerMinute: 100_000_000 } } });
  const redis = createRedis({ url: redisUrl, logger, name: "bench" });
  const metrics = createMetrics({ events, config });
  const limiter = new ClientRateLimiter({
    config,
    redis,
    logger,
    metrics,
    keyPrefix: `bench:${Date.now()}`,
  });
  const complete = async () => ({ object: "chat.completion", choices: [] });
  const gateway = new ChatGateway({ config, logger, events });
  const app = createApp({
    config,
    logger,
    events,
    gateway,
    ops: { metrics, limiter, complete, health: { ready: { redis: redisCheck(redis) } } },
  });
  const server = await listen(app);
  const body = JSON.stringify({
    requests: [{ model: "m", messages: [{ role: "user", content: "hello there" }] }],
  });
  const post = {
    method: "POST" as const,
    headers: { "content-type": "application/json", authorization: "Bearer gk-bench-2" },
    body,
  };
  const results = [
    await load({
      label: "POST /v1/batch (auth + Redis rate limit + checks), 10 conns",
      url: `${server.url}/v1/batch`,
      connections: 10,
      ...post,
    }),
    await load({
      label: "GET /health/ready (Redis PING), 10 conns",
      url: `${server.url}/health/ready`,
      connections: 10,
    }),
    await load({ label: "GET /metrics, 1 conn", url: `${server.url}/metrics`, connections: 1 }),
  ];
  report(results);
  await server.close();
  await redis.quit();
  await gateway.close();
}

void main();
