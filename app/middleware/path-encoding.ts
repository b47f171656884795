import type { RequestHandler } from "express";
import { HttpError } from "../errors";

/**
 * Refuses a request whose path has malformed percent-encoding (`/v1/jobs/%ff`)
 * with a 400, before a router tries to decode it into a parameter and fails.
 * Mounted first in `createApp`.
 */
export function pathEncoding(): RequestHandler {
  return function checkPathEncoding(req, _res, next) {
    try {
      decodeURIComponent(req.path);
    } catch {
      throw new HttpError(400, {
        message:
          "Request path has malformed percent-encoding (each % must start a valid UTF-8 escape such as %20)",
        type: "invalid_request_error",
        code: "invalid_path_encoding",
      });
    }
    next();
  };
}
