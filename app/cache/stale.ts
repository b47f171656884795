import { AllTargetsFailedError, HttpError } from "../errors";

/**
 * True for the error the gateway throws when every target failed (502
 * `all_providers_failed`, 504 `upstream_timeout`): the one failure a stale
 * cached answer may stand in for (`AI_CACHE_STALE_IF_ERROR_SECONDS`,
 * docs/design.md section 3). Bad requests, budget refusals and a client that
 * hung up are not outages.
 */
export function isOutage(error: unknown): boolean {
  // The gateway throws the domain error (mapped to 502/504 by the error handler); an HttpError with
  // the same codes is the mapped form, as jobs and batch carry it.
  if (error instanceof AllTargetsFailedError) return true;
  return (
    error instanceof HttpError && (error.code === "all_providers_failed" || error.code === "upstream_timeout")
  );
}
