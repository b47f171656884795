/** OpenAI error `type` values the gateway answers with. */
export type ErrorType =
  | "invalid_request_error"
  | "invalid_request"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "budget_exceeded"
  | "request_too_large"
  | "upstream_error"
  | "timeout_error"
  | "server_error";

/** Options of an {@link HttpError}. */
export interface HttpErrorOptions {
  readonly message: string;
  readonly type: ErrorType;
  /** A short machine-readable code; defaults to the type. */
  readonly code?: string;
  readonly cause?: unknown;
  /** Extra response headers, such as `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the client sees: a status and an OpenAI-shaped error body. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly type: ErrorType;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    options: HttpErrorOptions,
  ) {
    super(options.message, { cause: options.cause });
    this.type = options.type;
    this.code = options.code ?? options.type;
    this.headers = options.headers ?? {};
  }

  /** The OpenAI error body. */
  toJSON(): { error: { message: string; type: ErrorType; code: string } } {
    return { error: { message: this.message, type: this.type, code: this.code } };
  }
}

/** Why an upstream attempt failed; decides retry, rotation and failover. */
export type UpstreamFailureKind = "rate_limit" | "timeout" | "authentication" | "bad_request" | "upstream";

/** Base of the domain errors a provider adapter raises. */
export abstract class ProviderError extends Error {
  abstract readonly kind: UpstreamFailureKind;
  constructor(
    message: string,
    /** The provider that failed. */
    readonly provider: string,
    /** The upstream HTTP status, when there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 429 from the upstream; `retryAfterSeconds` from `Retry-After` or the vendor's reset headers. */
export class RateLimitError extends ProviderError {
  override readonly name = "RateLimitError";
  readonly kind = "rate_limit";
  constructor(
    message: string,
    provider: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, provider, 429, options);
  }
}

/** 401/403 from the upstream: never retried with the same key. */
export class AuthenticationError extends ProviderError {
  override readonly name = "AuthenticationError";
  readonly kind = "authentication";
}

/** The attempt ran past its deadline. */
export class TimeoutError extends ProviderError {
  override readonly name = "TimeoutError";
  readonly kind = "timeout";
}

/** 400 from the upstream: the request itself is wrong, so neither retried nor failed over. */
export class BadRequestError extends ProviderError {
  override readonly name = "BadRequestError";
  readonly kind = "bad_request";
}

/** 5xx, connection reset or a malformed body. */
export class UpstreamError extends ProviderError {
  override readonly name = "UpstreamError";
  readonly kind = "upstream";
}

/*
 * Domain errors of the chat path. The gateway throws these; the status, body
 * and headers a client (or a job or batch item) sees come from one mapping,
 * `toHttpError` in app/middleware/error-handler.ts (docs/design.md section 5).
 */

/** One target given up on, as an {@link AllTargetsFailedError} reports it. */
export interface FailedTarget {
  readonly provider: string;
  readonly model: string;
  readonly kind: UpstreamFailureKind | "circuit_open";
  readonly message: string;
}

/** Every target failed (the last one's kind decides 502 or 504). */
export class AllTargetsFailedError extends Error {
  override readonly name: string = "AllTargetsFailedError";
  constructor(
    readonly failures: readonly FailedTarget[],
    /** Upstream attempts made across all targets. */
    readonly attempts: number,
  ) {
    const tried = failures.map((f) => `${f.provider}/${f.model}: ${f.kind} (${f.message})`).join("; ");
    super(`All providers failed: ${tried}`);
  }

  /** The last target tried, whose failure the client sees. */
  get last(): FailedTarget | undefined {
    return this.failures.at(-1);
  }
}

/** The client hung up before an answer was sent. */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  constructor() {
    super("Client closed the request");
  }
}

/** No target's vendor can take the request's content (the message names the part and the provider). */
export class UnsupportedContentError extends Error {
  override readonly name = "UnsupportedContentError";
}
