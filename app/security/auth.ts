import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import type { ConfigStore } from "../config/config-store";
import type { GatewayConfig } from "../config/load-config";
import { HttpError } from "../errors";

/** The tenant of requests to a gateway without client keys. */
export const ANONYMOUS = "anonymous";

interface KeyRing {
  /** Client keys, then admin keys (an admin key is also a client key). */
  readonly hashes: readonly Buffer[];
  /** How many of `hashes`, from the end, are admin keys. */
  readonly admins: number;
}

const rings = new WeakMap<GatewayConfig, KeyRing>();

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** A stable, non-secret id for a client key: the first 12 hex digits of its SHA-256. */
export function keyId(key: string): string {
  return sha256(key).toString("hex").slice(0, 12);
}

function ringOf(config: GatewayConfig): KeyRing {
  let ring = rings.get(config);
  if (!ring) {
    // Only hashes are kept: the comparison below never touches a plaintext key.
    ring = {
      hashes: [...config.gatewayApiKeys.map(sha256), ...config.gatewayAdminKeys.map(sha256)],
      admins: config.gatewayAdminKeys.length,
    };
    rings.set(config, ring);
  }
  return ring;
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key`. */
function presentedKey(
  authorization: string | undefined,
  apiKey: string | string[] | undefined,
): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      throw new HttpError(401, {
        message: "Malformed Authorization header; send Authorization: Bearer <gateway key>",
        type: "authentication_error",
        code: "invalid_authorization_header",
        headers: { "www-authenticate": "Bearer" },
      });
    }
    return match[1];
  }
  return typeof apiKey === "string" && apiKey !== "" ? apiKey : undefined;
}

/**
 * Client authentication against `GATEWAY_API_KEYS` (read per request, so a
 * reload or secrets refresh takes effect at once). Keys are compared as
 * SHA-256 hashes in constant time against every configured key. Sets
 * `res.locals.tenant` to the key id, or `anonymous` when no keys are configured,
 * and `res.locals.admin` when the key is one of `GATEWAY_ADMIN_KEYS`.
 */
export function clientAuth(options: { config: ConfigStore }): RequestHandler {
  return function authenticateClient(req, res, next) {
    const { hashes, admins } = ringOf(options.config.get());
    if (hashes.length === 0) {
      res.locals["tenant"] = ANONYMOUS;
      next();
      return;
    }
    const key = presentedKey(req.headers.authorization, req.headers["x-api-key"]);
    if (key === undefined) {
      throw new HttpError(401, {
        message: "Missing gateway API key; send Authorization: Bearer <gateway key>",
        type: "authentication_error",
        code: "missing_api_key",
        headers: { "www-authenticate": "Bearer" },
      });
    }
    const presented = sha256(key);
    let matched = false;
    let admin = false;
    hashes.forEach((hash, index) => {
      const equal = timingSafeEqual(presented, hash);
      matched = equal || matched;
      admin = (equal && index >= hashes.length - admins) || admin;
    });
    if (!matched) {
      throw new HttpError(401, {
        message: "Invalid gateway API key",
        type: "authentication_error",
        code: "invalid_api_key",
        headers: { "www-authenticate": "Bearer" },
      });
    }
    res.locals["tenant"] = presented.toString("hex").slice(0, 12);
    res.locals["admin"] = admin;
    next();
  };
}
