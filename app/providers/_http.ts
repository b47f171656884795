import type { IncomingHttpHeaders } from "node:http";
import { createParser } from "eventsource-parser";
import { Pool } from "undici";
import type { ChatCompletionChunk, Usage } from "../chat/types";
import type { ProviderName } from "../config/defaults";
import {
  AuthenticationError,
  BadRequestError,
  type ProviderError,
  RateLimitError,
  TimeoutError,
  UpstreamError,
} from "../errors";
import type { ProviderStream } from "./types";

// Direct HTTP over undici pools instead of the vendor SDKs or global fetch:
// the issue's figures put Express + undici Pool.request at ~300 µs CPU per
// proxied request against ~700 µs with fetch, and the SDKs sit on fetch.

/** `AI_STREAM_IDLE_TIMEOUT_SECONDS`' default, in ms. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;

/** {@link UpstreamHttp}'s idle option from an adapter's `streamIdleTimeoutSeconds`. */
export function idleOption(seconds: number | undefined): { streamIdleTimeoutMs?: number } {
  return seconds === undefined ? {} : { streamIdleTimeoutMs: seconds * 1000 };
}

/** A pooled keep-alive HTTP client for one provider's base URL. */
export class UpstreamHttp {
  private readonly pool: Pool;
  /** The base URL's path, without a trailing slash (e.g. `/v1`). */
  readonly basePath: string;
  /** Longest silence between stream chunks before the stream fails; 0 disables. */
  readonly streamIdleTimeoutMs: number;

  constructor(
    readonly provider: ProviderName,
    baseUrl: string,
    options: { connections?: number; streamIdleTimeoutMs?: number } = {},
  ) {
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 256,
      keepAliveTimeout: 30_000,
      // Per-attempt deadlines come from the gateway's timeout policy (an abort signal).
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /**
   * Sends a request. Resolves with the open response when the status is 2xx;
   * otherwise reads the error body and throws the classified domain error.
   * An abort throws `signal.reason`.
   */
  async request(options: {
    method: "GET" | "POST";
    path: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
    secrets?: readonly (string | undefined)[];
  }): Promise<OpenResponse> {
    let response: Awaited<ReturnType<Pool["request"]>>;
    try {
      response = await this.pool.request({
        method: options.method,
        path: this.basePath + options.path,
        headers: options.headers,
        body: options.body,
        signal: options.signal,
      });
    } catch (error) {
      throw this.transportError(error, options.signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return new OpenResponse(this, response.statusCode, response.headers, response.body, options.signal);
    }
    let text = "";
    try {
      text = await response.body.text();
    } catch (error) {
      throw this.transportError(error, options.signal);
    }
    throw classifyStatus({
      provider: this.provider,
      status: response.statusCode,
      headers: response.headers,
      body: text,
      secrets: options.secrets ?? [],
    });
  }

  /** Maps a socket or abort error to a domain error (or the abort reason). */
  transportError(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    const code = (error as { code?: string }).code ?? (error as Error).name ?? "error";
    return new UpstreamError(`${this.provider}: connection failed (${code})`, this.provider, undefined, {
      cause: error,
    });
  }

  /** Closes the pool's connections. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

type Body = Awaited<ReturnType<Pool["request"]>>["body"];

/** The largest SSE event the parser buffers (characters); a larger one fails the stream. */
const MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

/** A 2xx response whose body has not been read yet. */
export class OpenResponse {
  constructor(
    private readonly http: UpstreamHttp,
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: Body,
    private readonly signal: AbortSignal,
  ) {}

  /** Reads and parses the body; a malformed body is an {@link UpstreamError}. */
  async json<T>(): Promise<T> {
    let text: string;
    try {
      text = await this.body.text();
    } catch (error) {
      throw this.http.transportError(error, this.signal);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UpstreamError(
        `${this.http.provider}: malformed JSON in the response body`,
        this.http.provider,
        this.status,
      );
    }
  }

  /**
   * The body as Server-Sent Events (parsed by eventsource-parser). Socket
   * errors mid-stream become domain errors, and so does an upstream that sends
   * nothing for `streamIdleTimeoutMs` while the gateway waits for its next
   * bytes (time spent waiting on a slow client does not count), so a stalled
   * stream cannot hold the client and the socket forever (docs/design.md section 4).
   */
  async *events(): AsyncGenerator<SseEvent> {
    const { provider, streamIdleTimeoutMs } = this.http;
    const ready: SseEvent[] = [];
    let tooLarge = false;
    const parser = createParser({
      onEvent: (message) => ready.push({ event: message.event, data: message.data }),
      // Unknown fields and bad `retry` values are ignored, as EventSource does.
      onError: (error) => {
        if (error.type === "max-buffer-size-exceeded") tooLarge = true;
      },
      maxBufferSize: MAX_SSE_EVENT_CHARS,
    });
    const decoder = new TextDecoder();
    const reader = this.body[Symbol.asyncIterator]();
    let idle = false;
    const idleError = () =>
      new UpstreamError(
        `${provider}: stream idle for more than ${streamIdleTimeoutMs / 1000} s between chunks`,
        provider,
      );
    for (;;) {
      const timer =
        streamIdleTimeoutMs > 0
          ? setTimeout(() => {
              idle = true;
              this.body.destroy(idleError());
            }, streamIdleTimeoutMs)
          : undefined;
      let step: IteratorResult<unknown>;
      try {
        step = await reader.next();
      } catch (error) {
        if (idle) throw idleError();
        throw this.http.transportError(error, this.signal);
      } finally {
        clearTimeout(timer);
      }
      if (step.done) break;
      parser.feed(decoder.decode(step.value as Uint8Array, { stream: true }));
      if (tooLarge)
        throw new UpstreamError(
          `${provider}: a stream event exceeds ${MAX_SSE_EVENT_CHARS} characters`,
          provider,
        );
      while (ready.length > 0) yield ready.shift()!;
    }
    // A final event not followed by a blank line still counts.
    parser.feed(`${decoder.decode()}\n\n`);
    while (ready.length > 0) yield ready.shift()!;
  }

  /** Discards the rest of the body (frees the connection). */
  discard(): void {
    this.body.destroy();
  }
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly event: string | undefined;
  readonly data: string;
}

/**
 * Wraps an adapter's chunk generator as the {@link ProviderStream} it returns:
 * the one place every stream error leaves the adapter, so the one place the
 * key in use (and key-shaped tokens) are scrubbed from it, whichever path
 * raised it (an upstream error event, a malformed event, a cut or idle stream).
 */
export function providerStream(
  chunks: AsyncGenerator<ChatCompletionChunk>,
  usage: () => Usage | undefined,
  secrets: readonly (string | undefined)[],
): ProviderStream {
  async function* guarded(): AsyncGenerator<ChatCompletionChunk> {
    try {
      yield* chunks;
    } catch (error) {
      throw scrubError(error, secrets);
    }
  }
  const iterable = guarded();
  return { [Symbol.asyncIterator]: () => iterable, usage };
}

/**
 * The error with the secrets scrubbed from its message (and its cause's), so
 * neither the client's `event: error` nor a log line can carry a key.
 */
export function scrubError(error: unknown, secrets: readonly (string | undefined)[]): unknown {
  if (!(error instanceof Error)) return error;
  error.message = scrub(error.message, secrets);
  if (error.cause instanceof Error) error.cause.message = scrub(error.cause.message, secrets);
  return error;
}

/** Parses one SSE data payload as JSON; malformed is an {@link UpstreamError}. */
export function parseEventJson<T>(provider: ProviderName, data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new UpstreamError(`${provider}: malformed JSON in a stream event`, provider);
  }
}

/** Options of {@link classifyStatus}. */
export interface ClassifyOptions {
  readonly provider: ProviderName;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Values scrubbed from the upstream message before it is kept (the API key in use). */
  readonly secrets: readonly (string | undefined)[];
  /** Epoch ms, for reset timestamps; defaults to Date.now(). */
  readonly now?: number;
}

/**
 * Turns an upstream error status into the domain error retry and failover
 * decide on: 429 rate limit (with its retry delay), 401/403 authentication,
 * 408 timeout, other 4xx bad request, everything else upstream.
 */
export function classifyStatus(options: ClassifyOptions): ProviderError {
  const { provider, status } = options;
  const detail = scrub(upstreamMessage(options.body), options.secrets);
  const message = `${provider}: ${status}${detail ? ` ${detail}` : ""}`;
  if (status === 429) {
    return new RateLimitError(message, provider, retryAfterSeconds(options));
  }
  if (status === 401 || status === 403) return new AuthenticationError(message, provider, status);
  if (status === 408) return new TimeoutError(message, provider, status);
  if (status >= 400 && status < 500 && status !== 409) return new BadRequestError(message, provider, status);
  return new UpstreamError(message, provider, status);
}

function upstreamMessage(body: string): string {
  if (!body) return "";
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const error = json.error;
    const candidate =
      typeof error === "string" ? error : typeof error?.message === "string" ? error.message : json.message;
    if (typeof candidate === "string") return candidate.slice(0, 300);
  } catch {
    // Not JSON: a proxy's HTML page or plain text; say so rather than echo it.
  }
  return "(non-JSON error body)";
}

function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  // Key-shaped tokens a vendor might echo back (sk-…, partially masked or not).
  return out.replace(/\b(sk|gsk|key|AIza)[-_A-Za-z0-9*]{8,}/g, "[redacted]");
}

const DURATION = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations (`1s`, `6m0s`, `20ms`) as OpenAI and Groq send in reset headers. */
function parseDuration(value: string): number | undefined {
  let total = 0;
  let matched = false;
  for (const match of value.matchAll(DURATION)) {
    matched = true;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return matched ? total / 1000 : undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Seconds to wait before retrying a 429, from (in order) `retry-after-ms`,
 * `retry-after` (seconds or an HTTP date), Anthropic's and OpenAI's reset
 * headers, or Gemini's `RetryInfo` in the body.
 */
export function retryAfterSeconds(options: ClassifyOptions): number | undefined {
  const now = options.now ?? Date.now();
  const { headers } = options;
  const ms = header(headers, "retry-after-ms");
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms) / 1000);
  const retryAfter = header(headers, "retry-after");
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (retryAfter.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, (date - now) / 1000);
  }
  for (const name of ["anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset"]) {
    const value = header(headers, name);
    const date = value === undefined ? Number.NaN : Date.parse(value);
    if (Number.isFinite(date)) return Math.max(0, (date - now) / 1000);
  }
  for (const name of ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]) {
    const value = header(headers, name);
    const seconds = value === undefined ? undefined : parseDuration(value);
    if (seconds !== undefined) return seconds;
  }
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(options.body);
  if (match) return Number(match[1]);
  return undefined;
}
