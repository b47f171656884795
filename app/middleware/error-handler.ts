import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import {
  AllTargetsFailedError,
  BadRequestError,
  ClientClosedError,
  HttpError,
  UnsupportedContentError,
} from "../errors";
import { setupHint } from "../gateway/setup-hint";

/** Answers routes nobody serves with an OpenAI-shaped 404. */
export function notFound(): RequestHandler {
  return function notFoundHandler(req, _res, next) {
    next(
      new HttpError(404, {
        message: `No route for ${req.method} ${req.path}`,
        type: "not_found_error",
        code: "route_not_found",
      }),
    );
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
  limit?: number;
}

/** Turns any error into an OpenAI-shaped body with the status that fits; registered last. */
export function errorHandler(options: { logger: Logger }): ErrorRequestHandler {
  const { logger } = options;
  return function handleError(error: unknown, req, res, _next) {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      logger.error(
        { err: error, requestId: res.getHeader("x-request-id"), path: req.path },
        "request failed",
      );
    }
    if (res.headersSent) {
      // A stream already started: the route owns ending it; make sure the socket closes.
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    res.status(httpError.status).json(httpError.toJSON());
  };
}

/**
 * Maps domain, body-parser and unknown errors to client-facing errors; never
 * exposes a stack. The one place a chat failure gets its status, body and
 * headers (HTTP, jobs and batch items alike; docs/design.md section 5).
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const domain = fromDomainError(error);
  if (domain) return domain;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case "entity.parse.failed":
      return new HttpError(400, {
        message: "Request body is not valid JSON",
        type: "invalid_request_error",
        code: "invalid_json",
      });
    case "entity.too.large":
      return new HttpError(413, {
        message: `Request body exceeds the ${parserError.limit ?? "configured"}-byte limit`,
        type: "request_too_large",
        code: "body_too_large",
      });
    case "encoding.unsupported":
    case "charset.unsupported":
      return new HttpError(415, {
        message: "Unsupported body encoding or charset",
        type: "invalid_request_error",
      });
    case "request.aborted":
      return new HttpError(400, { message: "Request aborted by the client", type: "invalid_request_error" });
  }
  if (
    typeof parserError?.status === "number" &&
    parserError.status >= 400 &&
    parserError.status < 500 &&
    parserError.expose
  ) {
    return new HttpError(parserError.status, { message: "Bad request", type: "invalid_request_error" });
  }
  return new HttpError(500, { message: "Internal gateway error", type: "server_error", cause: error });
}

// The chat path's domain errors (app/errors.ts).
function fromDomainError(error: unknown): HttpError | undefined {
  if (error instanceof AllTargetsFailedError) {
    const timedOut = error.last?.kind === "timeout";
    return new HttpError(timedOut ? 504 : 502, {
      message: `${error.message}${setupHint(error.failures)}`,
      type: timedOut ? "timeout_error" : "upstream_error",
      code: timedOut ? "upstream_timeout" : "all_providers_failed",
      headers: { "x-ai-attempts": String(error.attempts) },
    });
  }
  if (error instanceof ClientClosedError) {
    return new HttpError(499, {
      message: error.message,
      type: "invalid_request_error",
      code: "client_closed_request",
    });
  }
  if (error instanceof UnsupportedContentError) {
    return new HttpError(400, {
      message: error.message,
      type: "invalid_request_error",
      code: "unsupported_content",
    });
  }
  // The upstream refused the request itself: neither retried nor failed over.
  if (error instanceof BadRequestError) {
    if (error.status === 404) {
      return new HttpError(404, { message: error.message, type: "not_found_error", code: "model_not_found" });
    }
    return new HttpError(400, {
      message: error.message,
      type: "invalid_request_error",
      code: "upstream_bad_request",
    });
  }
  return undefined;
}
