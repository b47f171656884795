import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { ConfigStore } from "./config-store";
import { ConfigError, type GatewayConfig, loadConfig } from "./load-config";

type Env = Readonly<Record<string, string | undefined>>;

/** What a reload did. */
export type ReloadOutcome = "changed" | "unchanged" | "invalid";

/** Options of {@link ConfigReloader}. */
export interface ConfigReloaderOptions {
  readonly store: ConfigStore;
  /** The process environment the configuration was first loaded from. */
  readonly env: Env;
  readonly logger: Logger;
  /** @default loadConfig */
  readonly load?: (env: Env) => GatewayConfig;
  /** Reload at most this often even without a change event (the guide's 5 minutes). @default 300_000 */
  readonly pollIntervalMs?: number;
  /** Change events within this window make one reload (editors write files in bursts). @default 200 */
  readonly debounceMs?: number;
  /** Checks beyond `loadConfig`'s (such as keys that must arrive from the secret); problems reject the config. */
  readonly validate?: (config: GatewayConfig) => string[];
}

/** The top-level settings that differ, by name only (values may be secret). */
function changedSettings(previous: GatewayConfig, next: GatewayConfig): string[] {
  return (Object.keys(next) as (keyof GatewayConfig)[]).filter(
    (key) => JSON.stringify(previous[key]) !== JSON.stringify(next[key]),
  );
}

/**
 * Rebuilds the configuration from the environment, the secrets overlay (keys
 * from Secrets Manager) and `AI_CONFIG_FILE`, on file change (a watch on the
 * directory, so ConfigMap symlink swaps count), on SIGHUP and by poll. The new
 * config is validated first and swapped atomically; an invalid one is logged
 * and the last good one kept. In-flight requests keep the object they started with.
 */
export class ConfigReloader {
  private overlay: Readonly<Record<string, string>> = {};
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly load: (env: Env) => GatewayConfig;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.load = options.load ?? ((env) => loadConfig(env));
  }

  /** Loads, validates and swaps in the configuration; keeps the current one when invalid. */
  reload(reason: string): ReloadOutcome {
    const { store, logger } = this.options;
    let next: GatewayConfig;
    try {
      next = this.load({ ...this.options.env, ...this.overlay });
      const problems = this.options.validate?.(next) ?? [];
      if (problems.length > 0) throw new ConfigError(problems);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error(
        { reason, problems: error.problems },
        "config reload rejected; keeping the last good configuration",
      );
      return "invalid";
    }
    const changed = changedSettings(store.get(), next);
    if (changed.length === 0) return "unchanged";
    store.set(next);
    logger.info({ reason, changed }, "config reloaded");
    return "changed";
  }

  /** Replaces the secrets overlay (variables from Secrets Manager) and reloads. */
  setOverlay(variables: Readonly<Record<string, string>>, reason = "secrets refresh"): ReloadOutcome {
    const previous = this.overlay;
    this.overlay = { ...variables };
    const outcome = this.reload(reason);
    if (outcome === "invalid") this.overlay = previous;
    return outcome;
  }

  /** Watches `AI_CONFIG_FILE`'s directory and starts the poll. */
  start(): void {
    const file = this.options.store.get().configFile;
    if (file) {
      try {
        // ConfigMaps swap a `..data` symlink rather than writing the file, so any
        // event in the directory counts; an unchanged config is not swapped.
        this.watcher = watch(dirname(file), { persistent: false }, () => this.schedule("file change"));
        this.watcher.on("error", (error) =>
          this.options.logger.warn({ err: { message: error.message } }, "config watch failed; polling only"),
        );
      } catch (error) {
        this.options.logger.warn(
          { err: { message: (error as Error).message } },
          "config watch failed; polling only",
        );
      }
    }
    this.poller = setInterval(() => this.reload("poll"), this.options.pollIntervalMs ?? 300_000);
    this.poller.unref();
  }

  /** Stops watching and polling. */
  close(): void {
    this.watcher?.close();
    clearInterval(this.poller);
    clearTimeout(this.debounce);
  }

  private schedule(reason: string): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.reload(reason), this.options.debounceMs ?? 200);
    this.debounce.unref();
  }
}
