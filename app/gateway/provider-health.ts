import { PROVIDER_NAMES, type ProviderName } from "../config/defaults";
import type { UpstreamFailureKind } from "../errors";
import type { KeyPools } from "../providers";
import type { ProviderBreakers } from "../resilience/policies";
import type { ProviderState } from "./types";

/** The last outcome of one provider. */
interface ProviderHealth {
  success?: number;
  failure?: number;
  kind?: UpstreamFailureKind;
  rateLimited?: number;
}

/** When each provider last answered or failed, and how; read by `/health` (docs/design.md section 5). */
export class ProviderHealthBook {
  private readonly health = new Map<ProviderName, ProviderHealth>();

  /** Records a successful call at `at` (epoch ms). */
  succeeded(provider: ProviderName, at: number): void {
    this.entry(provider).success = at;
  }

  /**
   * Records a failed attempt at `at` (epoch ms) and its kind. A 429 is kept
   * apart (`lastRateLimitedAt`): one key's quota, not a sign the provider is unwell.
   */
  failed(provider: ProviderName, kind: UpstreamFailureKind, at: number): void {
    const health = this.entry(provider);
    if (kind === "rate_limit") {
      health.rateLimited = at;
      return;
    }
    health.failure = at;
    health.kind = kind;
  }

  /** Circuit state, last outcome and key position of every provider. */
  states(breakers: ProviderBreakers, keys: KeyPools): ProviderState[] {
    return PROVIDER_NAMES.map((provider) => {
      const health = this.health.get(provider);
      return {
        provider,
        circuit: breakers.state(provider),
        lastSuccessAt: health?.success,
        lastFailureAt: health?.failure,
        lastErrorKind: health?.kind,
        lastRateLimitedAt: health?.rateLimited,
        key: keys.describe(provider),
      };
    });
  }

  private entry(provider: ProviderName): ProviderHealth {
    let health = this.health.get(provider);
    if (!health) {
      health = {};
      this.health.set(provider, health);
    }
    return health;
  }
}
