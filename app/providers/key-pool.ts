import type { ProviderName } from "../config/defaults";

/**
 * Which key of each provider's pool is in use. Keys are read from the current
 * configuration on every call, so a Secrets Manager refresh or config reload
 * takes effect without a restart; a 401 or 429 on the key in use moves that
 * provider to the next key.
 */
export class KeyPools {
  private readonly position = new Map<ProviderName, number>();

  constructor(private readonly keysOf: (provider: ProviderName) => readonly string[]) {}

  /** The key to use now, or undefined when the pool is empty (keyless providers). */
  current(provider: ProviderName): string | undefined {
    const keys = this.keysOf(provider);
    if (keys.length === 0) return undefined;
    return keys[(this.position.get(provider) ?? 0) % keys.length];
  }

  /**
   * Moves past `failedKey` if it is still the one in use (concurrent failures
   * rotate once). Returns true when another key is now in use.
   */
  rotate(provider: ProviderName, failedKey: string | undefined): boolean {
    const keys = this.keysOf(provider);
    if (keys.length < 2 || failedKey === undefined) return false;
    const index = (this.position.get(provider) ?? 0) % keys.length;
    if (keys[index] !== failedKey) return keys[index] !== undefined;
    this.position.set(provider, (index + 1) % keys.length);
    return true;
  }

  /** Position of the key in use (1-based) and pool size, for logs; never the key itself. */
  describe(provider: ProviderName): { key: number; of: number } {
    const keys = this.keysOf(provider);
    return {
      key: keys.length === 0 ? 0 : ((this.position.get(provider) ?? 0) % keys.length) + 1,
      of: keys.length,
    };
  }
}
