import express from "express";
import pino from "pino";
import { Pool } from "undici";
import { ConfigStore } from "../app/config/config-store";
import { loadConfig } from "../app/config/load-config";
import { ChatGateway } from "../app/gateway/chat-gateway";
import { GatewayEvents } from "../app/observability/events";
import { createLogger } from "../app/observability/logger";
import { createApp } from "../app/server";

// The gateway under load, in its own process so its CPU time is measured
// alone. Logging stays on (info: one JSON line per request) into /dev/null.
// Reports its port over IPC and answers "cpu" with process.cpuUsage().
async function main(): Promise<void> {
  const upstream = process.env["BENCH_UPSTREAM"];
  if (!upstream) throw new Error("BENCH_UPSTREAM is required");
  const config = new ConfigStore(
    loadConfig({
      ENVIRONMENT: "development",
      AI_PROVIDER: "openai",
      AI_MODEL: "gpt-4o",
      OPENAI_API_KEY: "sk-bench",
      OPENAI_BASE_URL: `${upstream}/v1`,
      LOG_LEVEL: "info",
    }),
  );
  const logger = createLogger({
    level: "info",
    destination: pino.destination({ dest: "/dev/null", sync: false }),
  });
  const events = new GatewayEvents();
  const gateway = new ChatGateway({ config, logger, events });
  const mode = process.env["BENCH_MODE"] ?? "gateway";
  const app =
    mode === "gateway" ? createApp({ config, logger, events, gateway }) : baseline(mode, upstream, logger);
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
  });
  server.keepAliveTimeout = 65_000;
  process.on("message", (message) => {
    if (message === "cpu") process.send?.({ cpu: process.cpuUsage() });
    if (message === "exit") server.close(() => process.exit(0));
  });
}

// Reference points measured under the same load and machine noise: a bare
// Express reply, and Express forwarding with undici Pool.request or global
// fetch (the issue's ~250, ~300 and ~700 µs figures).
function baseline(mode: string, upstream: string, logger: ReturnType<typeof createLogger>): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(express.json());
  const pool = new Pool(upstream, { connections: 256 });
  app.post("/v1/chat/completions", async (req, res) => {
    if (mode === "express") {
      res.json({
        id: "x",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: "hi" } }],
      });
      return;
    }
    if (mode === "fetch") {
      const fetched = await fetch(`${upstream}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(req.body),
      });
      const text = await fetched.text();
      logger.info({ status: fetched.status }, "forwarded");
      res.status(fetched.status).type("application/json").send(text);
      return;
    }
    const upstreamResponse = await pool.request({
      method: "POST",
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req.body),
    });
    const text = await upstreamResponse.body.text();
    logger.info({ status: upstreamResponse.statusCode }, "forwarded");
    res.status(upstreamResponse.statusCode).type("application/json").send(text);
  });
  return app;
}

void main();
