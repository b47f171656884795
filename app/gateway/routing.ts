import { cacheKey, canonicalJson } from "../cache/cache-key";
import type { ChatRequest } from "../chat/schema";
import { PROVIDER_NAMES, type ProviderName, type TargetSpec } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import { HttpError } from "../errors";

/** Where a model name resolved to: the targets in the order they are tried. */
export interface Resolution {
  readonly targets: readonly TargetSpec[];
  /** The alias that matched, if any. */
  readonly alias?: string;
}

function isProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

function dedupe(targets: readonly TargetSpec[]): TargetSpec[] {
  const seen = new Set<string>();
  return targets.filter((target) => {
    const key = `${target.provider}/${target.model}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Every target `model` may be sent to under `config`, without balancing (no
 * side effects): what a budget reservation prices at the dearest. An unknown
 * `x/y` gives none (the router answers it 404).
 */
export function candidateTargets(model: string, config: GatewayConfig): TargetSpec[] {
  const route = config.file.routes[model];
  if (route) return dedupe(route.targets.map(({ provider, model: name }) => ({ provider, model: name })));
  const slash = model.indexOf("/");
  if (slash > 0) {
    const provider = model.slice(0, slash);
    const rest = model.slice(slash + 1);
    return isProvider(provider) && rest !== ""
      ? dedupe([{ provider, model: rest }, ...config.fallbacks])
      : [];
  }
  return dedupe([{ provider: config.provider, model }, ...config.fallbacks]);
}

/**
 * Resolves a request's `model` (docs/design.md section 3): an alias of the routing
 * config gives its own targets, balanced by its strategy; `<provider>/<model>`
 * gives that target, then the fallbacks; any other name goes to the primary
 * provider with that model, then the fallbacks. `x/y` with an unknown provider
 * `x` is a 404 rather than a guess.
 */
export class Router {
  private readonly counters = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  /** The ordered targets for `model` under `config`. */
  resolve(model: string, config: GatewayConfig): Resolution {
    const route = config.file.routes[model];
    if (route) {
      return { alias: model, targets: dedupe(this.balance(model, route.strategy, route.targets)) };
    }
    const slash = model.indexOf("/");
    if (slash > 0) {
      const provider = model.slice(0, slash);
      const rest = model.slice(slash + 1);
      if (isProvider(provider) && rest !== "") {
        return { targets: dedupe([{ provider, model: rest }, ...config.fallbacks]) };
      }
      if (!isProvider(provider)) {
        throw new HttpError(404, {
          message: `Unknown model "${model}": "${provider}" is not a provider (use one of ${PROVIDER_NAMES.join(", ")}, or a routed alias: ${Object.keys(config.file.routes).join(", ") || "none configured"})`,
          type: "not_found_error",
          code: "model_not_found",
        });
      }
      throw new HttpError(404, {
        message: `Unknown model "${model}": no model after "${provider}/"`,
        type: "not_found_error",
        code: "model_not_found",
      });
    }
    return { targets: dedupe([{ provider: config.provider, model }, ...config.fallbacks]) };
  }

  /** Every alias and the default targets, for GET /v1/models. */
  listModels(config: GatewayConfig): { id: string; ownedBy: string }[] {
    const models: { id: string; ownedBy: string }[] = [];
    for (const alias of Object.keys(config.file.routes)) models.push({ id: alias, ownedBy: "ai-gateway" });
    const targets = dedupe([
      { provider: config.provider, model: config.model },
      ...config.fallbacks,
      ...Object.values(config.file.routes).flatMap((route) => route.targets),
    ]);
    for (const target of targets)
      models.push({ id: `${target.provider}/${target.model}`, ownedBy: target.provider });
    return models;
  }

  // Equivalent targets share load: round-robin rotates the starting target per
  // request, weighted picks the first by weight; the rest stay as failovers.
  private balance(
    alias: string,
    strategy: "ordered" | "round-robin" | "weighted",
    targets: readonly { provider: ProviderName; model: string; weight?: number }[],
  ): TargetSpec[] {
    const plain = targets.map(({ provider, model }) => ({ provider, model }));
    if (strategy === "ordered" || plain.length < 2) return plain;
    let first: number;
    if (strategy === "round-robin") {
      const count = this.counters.get(alias) ?? 0;
      this.counters.set(alias, count + 1);
      first = count % plain.length;
    } else {
      const weights = targets.map((target) => target.weight ?? 1);
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      let pick = this.random() * total;
      first = weights.length - 1;
      for (let index = 0; index < weights.length; index++) {
        pick -= weights[index]!;
        if (pick < 0) {
          first = index;
          break;
        }
      }
    }
    return [...plain.slice(first), ...plain.slice(0, first)];
  }
}

/**
 * The target a request's answer is keyed by, from the targets it resolved to
 * (docs/design.md section 5: resolved once, for the key and the gateway): an
 * alias keys by its name and its route definition (so a round-robin or
 * weighted pick does not split the cache), anything else by its first target.
 */
export function cacheTarget(
  resolution: Resolution,
  config: GatewayConfig,
): { provider: string; model: string } {
  const route = resolution.alias === undefined ? undefined : config.file.routes[resolution.alias];
  if (resolution.alias !== undefined && route) {
    return { provider: "route", model: `${resolution.alias}=${canonicalJson(route)}` };
  }
  const first = resolution.targets[0];
  return first ? { provider: first.provider, model: first.model } : { provider: "none", model: "" };
}

/** The cache key of a request for this tenant, under the targets it resolved to. */
export function requestCacheKey(
  request: ChatRequest,
  tenant: string,
  resolution: Resolution,
  config: GatewayConfig,
): string {
  const target = cacheTarget(resolution, config);
  return cacheKey({ tenant, provider: target.provider, model: target.model, request });
}
