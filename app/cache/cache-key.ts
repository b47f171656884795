import { createHash } from "node:crypto";

/** What identifies an answer. */
export interface CacheKeyInput {
  /** The client's gateway key id; two tenants never share an entry. */
  readonly tenant: string;
  /** The resolved route: the provider and model (first target) that will answer. */
  readonly provider: string;
  readonly model: string;
  /** The chat request body as validated; every field except transport ones is part of the key. */
  readonly request: Readonly<Record<string, unknown>>;
}

/**
 * Request fields that change how the answer travels, not what it says: a
 * streamed and a plain request share one entry. `model` is replaced by the
 * resolved provider and model. Every other field, including ones this version
 * does not know, is in the key, so a new parameter can never get a stale answer.
 */
const TRANSPORT_FIELDS: ReadonlySet<string> = new Set(["stream", "stream_options", "model"]);

/** Bumped when the key or entry format changes, so old entries are never misread. */
const KEY_VERSION = 1;

/** JSON with object keys sorted at every depth and `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonical(item)));
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) sorted[key] = canonical(member);
    }
    return sorted;
  }
  return value;
}

/** SHA-256 (hex) over the canonical form of everything that changes the answer, plus the tenant. */
export function cacheKey(input: CacheKeyInput): string {
  const request: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input.request)) {
    if (!TRANSPORT_FIELDS.has(name)) request[name] = value;
  }
  const material = canonicalJson({
    v: KEY_VERSION,
    tenant: input.tenant,
    provider: input.provider,
    model: input.model,
    request,
  });
  return createHash("sha256").update(material).digest("hex");
}
