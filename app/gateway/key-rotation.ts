import type { Logger } from "pino";
import type { ProviderName } from "../config/defaults";
import { AuthenticationError, type ProviderError, RateLimitError } from "../errors";
import type { GatewayEvents } from "../observability/events";
import type { KeyPools } from "../providers";
import type { ChatContext, GatewayAlert } from "./types";

/** What key rotation reads and reports to. */
export interface KeyRotation {
  readonly keys: KeyPools;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  /** Raises the auth alert (a rejected key). */
  alert(alert: GatewayAlert): void;
}

/**
 * Moves a provider's key pool on past a key the upstream rejected (401/403)
 * or rate limited (429), emits `onKeyRotation` when the pool actually moved
 * (concurrent failures rotate once) and raises the auth alert for a rejected
 * key. Other failures leave the pool alone.
 */
export function rotateKeyOnFailure(
  rotation: KeyRotation,
  ctx: ChatContext,
  provider: ProviderName,
  apiKey: string | undefined,
  failure: ProviderError,
): void {
  if (failure instanceof AuthenticationError || failure instanceof RateLimitError) {
    const position = rotation.keys.describe(provider);
    const rotated = rotation.keys.rotate(provider, apiKey);
    const now = rotation.keys.describe(provider);
    // Only the failure that actually moved the pool reports a rotation (concurrent 401s rotate once).
    if (now.key !== position.key) {
      rotation.events.emit("onKeyRotation", {
        requestId: ctx.requestId,
        provider,
        reason: failure instanceof AuthenticationError ? "authentication" : "rate_limit",
        key: now.key,
        of: now.of,
      });
    }
    if (failure instanceof AuthenticationError) {
      rotation.alert({
        source: "auth",
        provider,
        message: `${provider} rejected API key ${position.key} of ${position.of} (${failure.status ?? "auth"})${rotated ? "; rotated to the next key" : "; no other key to rotate to"}`,
      });
    } else if (rotated) {
      rotation.logger.warn(
        { provider, key: `${position.key} of ${position.of}` },
        "rate limited; rotated to the next key",
      );
    }
  }
}
