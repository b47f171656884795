import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Echoes a well-formed `x-request-id` or generates one, and exposes it as `res.locals.requestId`. */
export function requestId(): RequestHandler {
  return function assignRequestId(req, res, next) {
    const incoming = req.headers["x-request-id"];
    const id = typeof incoming === "string" && VALID_ID.test(incoming) ? incoming : randomUUID();
    res.locals["requestId"] = id;
    res.setHeader("x-request-id", id);
    next();
  };
}
