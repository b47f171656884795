import { Writable } from "node:stream";
import { ConfigStore } from "../../app/config/config-store";
import { type GatewayConfig, loadConfig } from "../../app/config/load-config";
import { ChatGateway, type ChatGatewayOptions } from "../../app/gateway/chat-gateway";
import { GatewayEvents } from "../../app/observability/events";
import { createLogger } from "../../app/observability/logger";
import type { AppDeps } from "../../app/server";
import { fileDataDir } from "./data-dir";

/** Log lines captured in memory, parsed. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    callback();
  }
  /** Every line parsed as JSON. */
  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** A config loaded from `env` on top of an empty environment. */
export function testConfig(env: Record<string, string> = {}): GatewayConfig {
  return loadConfig({ ENVIRONMENT: "development", DATA_DIR: fileDataDir(), ...env });
}

/** Dependencies for `createApp` with a capturing logger. */
export function testDeps(
  env: Record<string, string> = {},
  overrides: Partial<AppDeps> = {},
  gatewayOptions: Partial<ChatGatewayOptions> = {},
): AppDeps & { logs: LogCapture } {
  const logs = new LogCapture();
  const logger = createLogger({ level: "debug", destination: logs });
  const config = overrides.config ?? new ConfigStore(testConfig(env));
  const events = overrides.events ?? new GatewayEvents();
  return {
    config,
    logger,
    events,
    clock: { now: () => Date.now() },
    gateway: overrides.gateway ?? new ChatGateway({ config, logger, events, ...gatewayOptions }),
    ...overrides,
    logs,
  };
}
