import { once } from "node:events";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Token counts a fake reports. */
export interface FakeUsage {
  readonly input: number;
  readonly output: number;
}

/**
 * What the fake does with one request:
 * - `answer`: a normal answer (JSON, or SSE when the request streams, optionally slowed by `chunkDelayMs`);
 * - `rate_limit`: 429 with `Retry-After` (seconds as a string) and any extra headers;
 * - `error`: an error status with the vendor's error body (400, 401, 403, 404, 500, 503, ...);
 * - `malformed`: 200 with a body that is not JSON;
 * - `reset`: destroys the connection without answering;
 * - `hang`: never answers (until the client gives up or the fake closes);
 * - `stream_dies`: starts a stream, sends `chunks`, then destroys the connection;
 * - `stream_stalls`: starts a stream, sends `chunks`, then sends nothing more and keeps the connection open;
 * - `stream_error`: starts a stream, sends `chunks`, then the vendor's in-stream error event with `message`;
 * - `raw`: 200 with `json` as the body, or (for a streaming request) the SSE `frames` exactly as given.
 *
 * Every step may add `delayMs` before it acts (keep it small: that time is real).
 */
export type FakeStep = { readonly delayMs?: number } & FakeAction;

/** The actions of {@link FakeStep}. */
export type FakeAction =
  | {
      readonly kind: "answer";
      readonly text?: string;
      readonly usage?: FakeUsage;
      readonly chunks?: readonly string[];
      /** Streams only: pause between frames after the first content chunk. */
      readonly chunkDelayMs?: number;
    }
  | {
      readonly kind: "rate_limit";
      readonly retryAfter?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: "error"; readonly status: number; readonly message?: string }
  | { readonly kind: "malformed" }
  | { readonly kind: "reset" }
  | { readonly kind: "hang" }
  | { readonly kind: "stream_dies"; readonly chunks?: readonly string[] }
  | { readonly kind: "stream_stalls"; readonly chunks?: readonly string[] }
  | { readonly kind: "stream_error"; readonly chunks?: readonly string[]; readonly message: string }
  | { readonly kind: "raw"; readonly json?: unknown; readonly frames?: readonly string[] };

/** A request the fake received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GET or non-JSON). */
  readonly body: unknown;
  /** The API key the vendor's auth header carried. */
  readonly apiKey: string | undefined;
}

/** What a request is, in vendor terms. */
export interface VendorOperation {
  readonly op: "chat" | "models" | "embeddings";
  readonly stream: boolean;
  readonly model: string;
}

/** The parts of a vendor's wire format a fake needs. */
export interface VendorFormat {
  readonly name: string;
  /** Recognizes a request; undefined answers 404. */
  operation(method: string, path: string, body: unknown): VendorOperation | undefined;
  apiKey(headers: IncomingHttpHeaders): string | undefined;
  completion(options: { model: string; text: string; usage: FakeUsage; id: string }): unknown;
  /** SSE frames (each ends with a blank line) of a stream; `complete: false` omits the end marker. */
  streamFrames(options: {
    model: string;
    chunks: readonly string[];
    usage: FakeUsage;
    id: string;
    complete: boolean;
  }): string[];
  errorBody(status: number, message: string): unknown;
  /** The SSE frame the vendor sends when a stream fails after it started. */
  streamErrorFrame(message: string): string;
  models(): unknown;
  /**
   * The answer to an embeddings request: vectors, or the error the vendor
   * gives for this body (a `dimensions` its model cannot produce). Formats
   * without embeddings omit it.
   */
  embeddings?(options: { model: string; body: unknown; id: string }): { status: number; body: unknown };
}

/** Options of a fake upstream. */
export interface FakeOptions {
  /** When set, any other key gets the vendor's 401. */
  readonly validKeys?: readonly string[];
  /** What requests get when the script is empty. @default answer "Hello from <vendor>" */
  readonly defaultStep?: FakeStep;
}

const DEFAULT_USAGE: FakeUsage = { input: 12, output: 5 };

/**
 * A scriptable fake LLM vendor on 127.0.0.1 with an ephemeral port. Queue
 * steps with `script(...)`; each chat request consumes one (the default step
 * once the queue is empty). Every request is recorded with its headers.
 */
export class FakeUpstream {
  /** Requests received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly queue: FakeStep[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly abortWaiters: (() => void)[] = [];
  /** Chat requests whose client (the gateway) hung up before the answer was complete. */
  abortedRequests = 0;
  private counter = 0;
  private server: Server | undefined;
  /** `http://127.0.0.1:<port>` once started. */
  origin = "";

  constructor(
    readonly format: VendorFormat,
    private readonly options: FakeOptions = {},
  ) {}

  /** Starts listening on an ephemeral loopback port. */
  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  /** Queues steps for the next chat requests, in order. */
  script(...steps: FakeStep[]): this {
    this.queue.push(...steps);
    return this;
  }

  /** Chat requests received (model listings excluded). */
  chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) => this.format.operation(r.method, r.path, r.body)?.op === "chat");
  }

  /** Embeddings requests received. */
  embeddingRequests(): RecordedRequest[] {
    return this.requests.filter((r) => this.format.operation(r.method, r.path, r.body)?.op === "embeddings");
  }

  /** Resolves once `count` requests in total have been received. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Resolves once a client has hung up on a request before its answer was complete. */
  waitForAbort(): Promise<void> {
    if (this.abortedRequests > 0) return Promise.resolve();
    return new Promise((resolve) => this.abortWaiters.push(resolve));
  }

  /** Forgets recorded requests and queued steps. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
  }

  /** Closes the server and every open connection (hung ones included). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = req.url ?? "/";
    const apiKey = this.format.apiKey(req.headers);
    this.requests.push({ method: req.method ?? "GET", path, headers: req.headers, body, apiKey });
    for (const waiter of this.waiters.filter((w) => this.requests.length >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }

    const operation = this.format.operation(req.method ?? "GET", path, body);
    if (!operation) return this.json(res, 404, this.format.errorBody(404, `Unknown path ${path}`));
    if (this.options.validKeys && !this.options.validKeys.includes(apiKey ?? "")) {
      return this.json(res, 401, this.format.errorBody(401, "Invalid API key provided"));
    }
    if (operation.op === "models") return this.json(res, 200, this.format.models());

    const step = this.queue.shift() ?? this.options.defaultStep ?? { kind: "answer" };
    res.on("close", () => {
      if (res.writableFinished || step.kind === "reset" || step.kind === "stream_dies") return;
      if (step.kind === "stream_stalls") return;
      this.abortedRequests++;
      for (const waiter of this.abortWaiters.splice(0)) waiter();
    });
    if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
    if (res.destroyed) return;
    const id = `${this.format.name}-${++this.counter}`;
    switch (step.kind) {
      case "answer": {
        if (operation.op === "embeddings" && this.format.embeddings) {
          const answer = this.format.embeddings({ model: operation.model, body, id });
          return this.json(res, answer.status, answer.body);
        }
        const text = step.text ?? `Hello from ${this.format.name}`;
        const usage = step.usage ?? DEFAULT_USAGE;
        if (!operation.stream) {
          return this.json(res, 200, this.format.completion({ model: operation.model, text, usage, id }));
        }
        const parts = step.chunks ?? splitText(text);
        const frames = this.format.streamFrames({
          model: operation.model,
          chunks: parts,
          usage,
          id,
          complete: true,
        });
        if (!step.chunkDelayMs) {
          this.sse(res, frames);
          res.end();
          return;
        }
        // Headers and the frames up to the first content chunk at once, then one frame per pause.
        const opening = frames.findIndex((frame) => frame.includes(JSON.stringify(parts[0] ?? "")));
        this.sse(res, frames.slice(0, opening + 1));
        for (const frame of frames.slice(opening + 1)) {
          await new Promise((resolve) => setTimeout(resolve, step.chunkDelayMs));
          if (res.destroyed) return;
          res.write(frame);
        }
        res.end();
        return;
      }
      case "rate_limit":
        return this.json(res, 429, this.format.errorBody(429, "Rate limit reached, please retry later"), {
          ...(step.retryAfter !== undefined ? { "retry-after": step.retryAfter } : {}),
          ...step.headers,
        });
      case "error":
        return this.json(
          res,
          step.status,
          this.format.errorBody(step.status, step.message ?? defaultMessage(step.status)),
        );
      case "malformed":
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id": "broken", "choices": [');
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "hang":
        return;
      case "stream_dies": {
        const parts = step.chunks ?? ["Hel", "lo"];
        this.sse(
          res,
          this.format.streamFrames({
            model: operation.model,
            chunks: parts,
            usage: DEFAULT_USAGE,
            id,
            complete: false,
          }),
        );
        // Let the frames reach the client before the connection drops.
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      case "stream_stalls":
      case "stream_error": {
        const frames = this.format.streamFrames({
          model: operation.model,
          chunks: step.chunks ?? ["Hel", "lo"],
          usage: DEFAULT_USAGE,
          id,
          complete: false,
        });
        this.sse(res, frames);
        if (step.kind === "stream_error") {
          res.write(this.format.streamErrorFrame(step.message));
          res.end();
        }
        return;
      }
      case "raw":
        if (step.frames && operation.stream) {
          this.sse(res, step.frames);
          res.end();
          return;
        }
        return this.json(res, 200, step.json ?? {});
    }
  }

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private sse(res: ServerResponse, frames: readonly string[]): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const frame of frames) res.write(frame);
  }
}

function splitText(text: string): string[] {
  const words = text.split(/(?<= )/);
  return words.length > 0 ? words : [text];
}

function defaultMessage(status: number): string {
  if (status === 401) return "Invalid API key provided";
  if (status === 400) return "Invalid request";
  if (status >= 500) return "The server had an error while processing your request";
  return `Error ${status}`;
}
