import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { HttpError } from "../errors";

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

/** Maps body-parser and unknown errors to client-facing errors; never exposes a stack. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
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
