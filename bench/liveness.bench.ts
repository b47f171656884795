import { ConfigStore } from "../app/config/config-store";
import { loadConfig } from "../app/config/load-config";
import { ChatGateway } from "../app/gateway/chat-gateway";
import { GatewayEvents } from "../app/observability/events";
import { createLogger } from "../app/observability/logger";
import { createApp } from "../app/server";
import { listen } from "../test/helpers/http";
import { load, report } from "./_autocannon";

// The floor every other figure is measured against: the gateway answering a
// route that touches nothing.
async function main(): Promise<void> {
  const config = new ConfigStore(loadConfig({}));
  const logger = createLogger({ level: "info" });
  const events = new GatewayEvents();
  const app = createApp({ config, logger, events, gateway: new ChatGateway({ config, logger, events }) });
  const server = await listen(app);
  const results = [
    await load({ label: "GET /health/live, 1 connection", url: `${server.url}/health/live`, connections: 1 }),
    await load({
      label: "GET /health/live, 50 connections",
      url: `${server.url}/health/live`,
      connections: 50,
    }),
  ];
  report(results);
  await server.close();
}

void main();
