import type { RequestHandler } from "express";
import { HttpError } from "../errors";

/**
 * The deepest nesting of arrays and objects a JSON body may have. Generous for
 * real requests (tool `parameters` and `response_format` schemas included;
 * OpenAI's structured outputs allow 10 levels of schema nesting), and far
 * below what would overflow the call stack of code that walks the body.
 */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests arrays and objects deeper than `maxDepth` (a top-level object is depth 1). */
export function exceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  // Iterative, so the check itself cannot overflow the stack it protects.
  const pending: [unknown, number][] = [[value, 1]];
  for (let entry = pending.pop(); entry; entry = pending.pop()) {
    const [node, depth] = entry;
    if (node === null || typeof node !== "object") continue;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuses a parsed JSON body nested deeper than `maxDepth` with a 400 that
 * names the limit, before any route, cache key or provider translation walks
 * it (chat, streaming, batch items, jobs alike).
 */
export function jsonDepth(options: { maxDepth?: number } = {}): RequestHandler {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  return function limitJsonDepth(req, _res, next) {
    if (exceedsJsonDepth(req.body, maxDepth)) {
      throw new HttpError(400, {
        message: `Request body is nested too deeply: arrays and objects may nest at most ${maxDepth} levels`,
        type: "invalid_request_error",
        code: "json_too_deep",
      });
    }
    next();
  };
}
