import type { GatewayConfig } from "./load-config";

/**
 * Holds the current configuration. Readers call `get()` per request so a
 * reload (AI_CONFIG_FILE change, SIGHUP) swaps it atomically for new requests
 * while in-flight ones keep the object they started with.
 */
export class ConfigStore {
  private current: GatewayConfig;
  private readonly listeners: ((next: GatewayConfig, previous: GatewayConfig) => void)[] = [];

  constructor(initial: GatewayConfig) {
    this.current = initial;
  }

  /** The configuration in force now. */
  get(): GatewayConfig {
    return this.current;
  }

  /** Replaces the configuration and tells subscribers. */
  set(next: GatewayConfig): void {
    const previous = this.current;
    this.current = next;
    for (const listener of this.listeners) listener(next, previous);
  }

  /** Subscribes to replacements. */
  onChange(listener: (next: GatewayConfig, previous: GatewayConfig) => void): void {
    this.listeners.push(listener);
  }
}
