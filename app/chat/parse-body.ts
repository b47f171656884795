import type { z } from "zod";
import { HttpError } from "../errors";

/** `messages[0].content` style path of a zod issue; `body` for the root. */
export function describePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || "body";
}

/** Throws the 400 every JSON route answers for a body that is not an object (`needs`: what it must hold). */
export function requireObjectBody(body: unknown, needs: string): asserts body is Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, {
      message: `Request body must be a JSON object with ${needs}`,
      type: "invalid_request_error",
      code: "invalid_body",
    });
  }
}

/**
 * Validates a parsed JSON body against a route's schema (chat, embeddings,
 * responses). Throws a 400 `invalid_request_error` whose message names the
 * first bad field and what is wrong, so nothing invalid reaches a provider.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new HttpError(400, {
      message: `Invalid request: ${describePath(issue.path)}: ${issue.message}`,
      type: "invalid_request_error",
      code:
        issue.path.length === 1 && issue.code === "invalid_type"
          ? "missing_or_invalid_field"
          : "invalid_value",
    });
  }
  return result.data;
}
