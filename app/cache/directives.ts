import { HttpError } from "../errors";

/** Request header that sets this request's cache TTL in seconds (0: do not store). */
export const CACHE_TTL_HEADER = "x-ai-cache-ttl";
/** Response header saying how the cache took part: `hit`, `miss` or `bypass`. */
export const CACHE_STATUS_HEADER = "x-ai-cache";
/** The longest TTL a request may ask for: one week. */
export const MAX_CACHE_TTL_SECONDS = 7 * 24 * 3600;

/** How the cache takes part in one request. */
export interface CacheDirectives {
  /** Look the answer up (false: `Cache-Control: no-cache` / `no-store`, or caching off). */
  readonly lookup: boolean;
  /** Store the answer (false: `no-store`, TTL 0, or caching off). */
  readonly write: boolean;
  readonly ttlSeconds: number;
  /** The client asked to skip the cache (`x-ai-cache: bypass`). */
  readonly bypassed: boolean;
}

/**
 * Reads `Cache-Control` and `x-ai-cache-ttl`. `no-cache` skips the lookup (the
 * fresh answer is still stored); `no-store` skips the lookup and the write.
 * Throws 400 for a TTL that is not a whole number of seconds in range.
 */
export function cacheDirectives(
  headers: { readonly cacheControl?: string | undefined; readonly ttl?: string | undefined },
  settings: { readonly enabled: boolean; readonly defaultTtlSeconds: number },
): CacheDirectives {
  let ttlSeconds = settings.defaultTtlSeconds;
  const rawTtl = headers.ttl?.trim();
  if (rawTtl !== undefined && rawTtl !== "") {
    const value = Number(rawTtl);
    if (!/^\d+$/.test(rawTtl) || value > MAX_CACHE_TTL_SECONDS) {
      throw new HttpError(400, {
        message: `${CACHE_TTL_HEADER} must be a whole number of seconds from 0 to ${MAX_CACHE_TTL_SECONDS}`,
        type: "invalid_request_error",
        code: "invalid_cache_ttl",
      });
    }
    ttlSeconds = value;
  }
  const tokens = new Set(
    (headers.cacheControl ?? "")
      .toLowerCase()
      .split(",")
      .map((part) => part.trim().split("=")[0]),
  );
  const noStore = tokens.has("no-store");
  const noCache = noStore || tokens.has("no-cache");
  return {
    lookup: settings.enabled && !noCache,
    write: settings.enabled && !noStore && ttlSeconds > 0,
    ttlSeconds,
    bypassed: noCache,
  };
}
