import { type Request, Router } from "express";
import type { ConfigStore } from "../config/config-store";
import type { ProviderName } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import type { Lifecycle } from "../lifecycle";
import { mayReadDetail } from "../middleware/admin-access";
import {
  type CheckResult,
  type HealthCheck,
  type ProviderProbe,
  type ProviderStatesSource,
  runChecks,
} from "../observability/health";
import type { Clock } from "../resilience/clock";

/** What the health routes check; everything is injected so each subsystem wires its own check. */
export interface HealthRouteOptions {
  /** Reported by `/health`. @default "0.0.0" */
  readonly version?: string;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Per-check deadline: a hanging dependency answers down after this long. @default 2000 */
  readonly timeoutMs?: number;
  /** What the gateway needs to serve (Redis when configured, the ledger store or spool): `/health/ready`. */
  readonly ready?: Readonly<Record<string, HealthCheck>>;
  /** Extra dependencies reported by `/health` only (Postgres, Chroma). */
  readonly details?: Readonly<Record<string, HealthCheck>>;
  /** Provider states from the router's breakers, and the cached unbilled probe. */
  readonly providers?: {
    readonly states: ProviderStatesSource;
    readonly probe?: ProviderProbe;
    /** The providers the current configuration routes to. */
    readonly routed: () => readonly ProviderName[];
  };
  /** Readiness answers 503 once shutdown begins. */
  readonly lifecycle?: Lifecycle;
  /**
   * Decides who sees check detail (key-pool positions, dependency errors): an
   * admin key (`GATEWAY_ADMIN_KEYS`), or anyone on a gateway without keys.
   * Others get the status alone. @default - everyone sees detail (tests of the routes alone)
   */
  readonly config?: ConfigStore;
}

/** The providers a configuration routes to: primary, fallbacks and every route target. */
export function routedProviders(config: GatewayConfig): ProviderName[] {
  const names = new Set<ProviderName>([
    config.provider,
    ...config.fallbacks.map((target) => target.provider),
  ]);
  for (const route of Object.values(config.file.routes)) {
    for (const target of route.targets) names.add(target.provider);
  }
  return [...names];
}

/**
 * `/health/live` (no dependency), `/health/ready` (what serving needs, 200 or
 * 503 naming the failing checks) and `/health` (everything, providers
 * included, 200 healthy or 503 degraded). No probe ever calls a paid model.
 */
export function healthRoutes(options: HealthRouteOptions = {}): Router {
  // Not server.ts's systemClock: server.ts imports this module, and a cycle would see it undefined.
  const clock = options.clock ?? { now: () => Date.now() };
  const timeoutMs = options.timeoutMs ?? 2_000;
  const router = Router();
  const detail = (req: Request): boolean =>
    options.config === undefined || mayReadDetail(options.config.get(), req.headers);

  router.get("/health/live", function live(_req, res) {
    res.setHeader("cache-control", "no-store");
    res.status(200).json({ status: "ok" });
  });

  router.get("/health/ready", async function ready(req, res) {
    res.setHeader("cache-control", "no-store");
    const checks: Record<string, CheckResult> = await runChecks(options.ready ?? {}, timeoutMs, clock);
    if (options.lifecycle?.shuttingDown) checks["shutdown"] = { status: "down", error: "shutting down" };
    const failing = Object.entries(checks)
      .filter(([, result]) => result.status === "down")
      .map(([name]) => name);
    // Open to probes: the failing check names, and their error text only for detail readers.
    const shown = detail(req) ? { checks } : {};
    res
      .status(failing.length === 0 ? 200 : 503)
      .json(
        failing.length === 0 ? { status: "ready", ...shown } : { status: "not_ready", failing, ...shown },
      );
  });

  router.get("/health", async function health(req, res) {
    res.setHeader("cache-control", "no-store");
    const [readyChecks, detailChecks, providers] = await Promise.all([
      runChecks(options.ready ?? {}, timeoutMs, clock),
      runChecks(options.details ?? {}, timeoutMs, clock),
      providerChecks(options.providers, timeoutMs),
    ]);
    const checks: Record<string, unknown> = { ...readyChecks, ...detailChecks };
    let healthy = [...Object.values(readyChecks), ...Object.values(detailChecks)].every(
      (c) => c.status === "up",
    );
    if (providers) {
      checks["providers"] = providers;
      healthy &&= Object.values(providers).every((c) => c.status === "up");
    }
    const status = healthy ? "healthy" : "degraded";
    // Key-pool positions and dependency error text are for operators (issue 14 finding 8).
    if (!detail(req)) {
      res.status(healthy ? 200 : 503).json({ status });
      return;
    }
    res.status(healthy ? 200 : 503).json({
      status,
      timestamp: new Date(clock.now()).toISOString(),
      version: options.version ?? "0.0.0",
      checks,
    });
  });
  return router;
}

async function providerChecks(
  providers: HealthRouteOptions["providers"],
  timeoutMs: number,
): Promise<Record<string, CheckResult> | undefined> {
  if (!providers) return undefined;
  const states = providers.states();
  const entries = await Promise.all(
    providers.routed().map(async (name) => {
      const { state: breaker = "closed", ...recent } = states[name] ?? {};
      const probe = providers.probe ? await providers.probe.probe(name, timeoutMs) : undefined;
      const down = breaker === "open" || probe?.status === "down";
      const result: CheckResult = {
        status: down ? "down" : "up",
        breaker,
        ...(Object.keys(recent).length > 0 ? { recent } : {}),
        ...(probe ? { probe } : {}),
      };
      return [name, result] as const;
    }),
  );
  return Object.fromEntries(entries);
}
