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
  // Iterative (an explicit stack, not recursion and not JSON.stringify on the
  // whole value), so no nesting depth can overflow the call stack; the output
  // is byte for byte what JSON.stringify gives for the key-sorted value.
  const stack: { readonly keys: readonly string[] | undefined; readonly items: unknown[]; index: number }[] =
    [];
  let out = "";
  let next: unknown = value;
  for (;;) {
    const item = next;
    if (Array.isArray(item)) {
      out += "[";
      stack.push({ keys: undefined, items: item, index: 0 });
    } else if (item !== null && typeof item === "object") {
      const record = item as Record<string, unknown>;
      // Sorted, then in the order an object built in that order lists them
      // (integer-like keys first), which is what the key format has always used.
      const sorted: Record<string, true> = {};
      for (const key of Object.keys(record).sort()) if (!skipped(record[key])) sorted[key] = true;
      const keys = Object.keys(sorted);
      out += "{";
      stack.push({ keys, items: keys.map((key) => record[key]), index: 0 });
    } else {
      const text = JSON.stringify(item) as string | undefined;
      out += text === undefined ? "null" : text;
    }
    for (;;) {
      const frame = stack.at(-1);
      if (!frame) return out;
      if (frame.index < frame.items.length) {
        if (frame.index > 0) out += ",";
        if (frame.keys) out += `${JSON.stringify(frame.keys[frame.index])}:`;
        next = frame.items[frame.index++];
        break;
      }
      out += frame.keys ? "}" : "]";
      stack.pop();
    }
  }
}

// Members JSON.stringify leaves out of an object (and writes as null in an array).
function skipped(member: unknown): boolean {
  return member === undefined || typeof member === "function" || typeof member === "symbol";
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
