import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { GatewayConfig } from "../config/load-config";

const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/** Compares a presented secret with an expected one in constant time (as SHA-256 digests, so lengths leak nothing). */
export function secretEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** The bearer token of `Authorization: Bearer <token>`, else undefined; never throws. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return match?.[1];
}

/** The key a request presents, as client auth reads it (`Authorization: Bearer` or `x-api-key`); never throws. */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  if (headers.authorization !== undefined) return bearerToken(headers);
  const apiKey = headers["x-api-key"];
  return typeof apiKey === "string" && apiKey !== "" ? apiKey : undefined;
}

/** True when the request presents one of `GATEWAY_ADMIN_KEYS`; every key is compared, in constant time. */
export function presentsAdminKey(config: GatewayConfig, headers: IncomingHttpHeaders): boolean {
  const key = presentedKey(headers);
  if (key === undefined) return false;
  let admin = false;
  for (const expected of config.gatewayAdminKeys) admin = secretEquals(key, expected) || admin;
  return admin;
}

/**
 * Whether a request may read operational detail (`/health` checks: key-pool
 * positions, dependency errors): with an admin key, or from anyone on an open
 * gateway (no client or admin keys configured: development), which serves
 * everyone anyway (docs/design.md section 3).
 */
export function mayReadDetail(config: GatewayConfig, headers: IncomingHttpHeaders): boolean {
  if (config.gatewayApiKeys.length === 0 && config.gatewayAdminKeys.length === 0) return true;
  return presentsAdminKey(config, headers);
}
