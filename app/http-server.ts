import { once } from "node:events";
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Socket-level limits and drain behaviour of {@link createHttpServer} (docs/design.md section 4). */
export interface HttpServerOptions {
  /** Open sockets accepted at once; further connections are closed as they arrive. @default 4096 */
  readonly maxConnections?: number;
  /** A request's headers must arrive within this long of its first byte (or of the connection). @default 20_000 */
  readonly headersTimeoutMs?: number;
  /** The whole request (headers and body) must arrive within this long. @default 60_000 */
  readonly requestTimeoutMs?: number;
  /**
   * Idle keep-alive sockets stay open this long. Upstream load balancers keep
   * connections open for 60 s or more; outlive them so the gateway never closes
   * a socket a client is about to reuse. @default 65_000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * During a drain, a keep-alive socket whose response started before shutdown
   * is closed once it has been idle this long; a request arriving on it in the
   * meantime is answered 503 with `Connection: close` instead of being reset. @default 2_000
   */
  readonly drainIdleGraceMs?: number;
  /** Called for each connection refused because `maxConnections` are open. */
  readonly onRefused?: () => void;
}

/** The gateway's HTTP server with its limits and its drain. */
export interface GatewayHttpServer {
  readonly server: Server;
  /** Listens and resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections; requests still arriving on open keep-alive
   * sockets are answered 503 with `Connection: close`, responses not yet
   * started carry `Connection: close`, and sockets close as they turn idle.
   * Resolves once every connection closed; after `deadlineMs` the remaining
   * ones are closed by force (`onDeadline` runs first).
   */
  drain(deadlineMs: number, onDeadline?: () => void): Promise<void>;
}

interface SocketState {
  /** Requests received on the socket whose response has not closed yet. */
  busy: number;
  /** When the socket last had no request in flight (epoch ms). */
  idleSince: number;
}

const SHUTTING_DOWN_BODY = JSON.stringify({
  error: {
    message: "The gateway is shutting down; retry the request, another instance will answer it",
    type: "server_error",
    code: "shutting_down",
  },
});

/** How long a socket that sent a malformed request is read from after its 4xx before it is closed. */
const LINGER_MS = 2_000;

/** The status a protocol-level error is answered with. */
function clientErrorStatus(code: string | undefined): number {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  if (code === "HPE_HEADER_OVERFLOW") return 431;
  return 400;
}

/**
 * Answers a request Node's parser refused (malformed, headers too large, headers too slow) with an
 * OpenAI-shaped 4xx, then keeps reading what the client still sends for a moment before closing
 * (a lingering close). Node's default writes its 400 and destroys the socket at once: with the
 * client's body still arriving, the kernel resets the connection and the client never reads the answer.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, answered: WeakSet<Socket>): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  if (error.code === "ECONNRESET" || !socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  const body = JSON.stringify({
    error: {
      message: status === 408 ? "Request headers arrived too slowly" : "Malformed HTTP request",
      type: "invalid_request_error",
      code: status === 408 ? "request_timeout" : "malformed_request",
    },
  });
  // A HEAD request's answer has no body (the parser keeps the bytes it refused in rawPacket).
  const raw = (error as { rawPacket?: Buffer }).rawPacket;
  const head = raw?.subarray(0, 5).toString("latin1") === "HEAD ";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      (head ? "" : body),
  );
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

const EXPECTATION_FAILED_BODY = JSON.stringify({
  error: {
    message: "Unsupported Expect header: only 100-continue is understood",
    type: "invalid_request_error",
    code: "expectation_failed",
  },
});

/**
 * Answers a request whose `Expect` header is not `100-continue` with an OpenAI-shaped 417 and reads
 * (discards) its body before ending the answer. Node's default answers 417 and closes at once: with the body still arriving,
 * the kernel resets the connection and the client never reads the answer (the property test's
 * `OPTIONS *` with `expect: nonsense` and a 512 KiB body got EPIPE).
 */
function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(417, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(EXPECTATION_FAILED_BODY),
    "cache-control": "no-store",
  });
  // End the answer once the body is read (or after a moment, for a client that waits before sending
  // it): ending first lets Node close the socket on a body still arriving.
  const end = () => {
    clearTimeout(timer);
    if (!res.writableEnded) res.end(EXPECTATION_FAILED_BODY);
  };
  const timer = setTimeout(end, LINGER_MS);
  timer.unref();
  req.once("end", end);
  req.once("error", end);
  req.resume();
}

/**
 * A lingering close (RFC 9112 section 9.6) for the last response on a connection: Node ends such a
 * socket with `destroySoon()`, which destroys it once the answer is written; a request body still
 * arriving (a route that answers without reading it: health, a 401, a 404) then makes the kernel
 * reset the connection and the client never reads the answer. Instead, half-close after the
 * answer, keep reading (and discarding) what the client sends, and close when it is done or after
 * a moment.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.destroyed) return;
    this.end();
    this.resume();
    this.once("end", () => this.destroy());
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

/** Answers a request that arrived on an open socket after shutdown began, and closes the socket after it. */
function refuseWhileDraining(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  res.writeHead(503, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(SHUTTING_DOWN_BODY),
    "cache-control": "no-store",
    "retry-after": "1",
    connection: "close",
  });
  res.end(SHUTTING_DOWN_BODY);
  req.resume();
}

/**
 * Creates the HTTP server for `app` with socket-level limits (issue 14 finding
 * 6: connection cap, headers and request timeouts against slow-header clients)
 * and a drain that never resets a request arriving on a keep-alive socket
 * (finding 5).
 */
export function createHttpServer(app: RequestListener, options: HttpServerOptions = {}): GatewayHttpServer {
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? 60_000, headersTimeout);
  const graceMs = options.drainIdleGraceMs ?? 2_000;
  const sockets = new Map<Socket, SocketState>();
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000,
      // Node checks the two timeouts every 30 s by default, which would let a slow-header
      // socket live up to 30 s past its deadline; check at a quarter of the deadline instead.
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 4))),
    },
    function handleRequest(req, res) {
      if (draining) {
        refuseWhileDraining(req, res);
        return;
      }
      const state = sockets.get(req.socket);
      if (state) state.busy++;
      inFlight.add(res);
      res.once("close", () => {
        inFlight.delete(res);
        if (state) {
          state.busy--;
          state.idleSince = Date.now();
        }
      });
      app(req, res);
    },
  );
  // Set as properties too: not every Node 20 release reads every one of them from the options.
  server.headersTimeout = headersTimeout;
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  server.maxConnections = options.maxConnections ?? 4096;
  server.on("connection", (socket: Socket) => {
    sockets.set(socket, { busy: 0, idleSince: Date.now() });
    lingerOnClose(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  if (options.onRefused) server.on("drop", options.onRefused);
  server.on("checkExpectation", refuseExpectation);
  const answered = new WeakSet<Socket>();
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(error, socket, answered),
  );

  const closeIdle = (now: number): void => {
    for (const [socket, state] of sockets) {
      if (state.busy === 0 && now - state.idleSince >= graceMs) socket.destroy();
    }
  };

  return {
    server,
    async listen(port, host) {
      server.listen(port, host);
      await once(server, "listening");
      return (server.address() as AddressInfo).port;
    },
    drain(deadlineMs, onDeadline) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Responses not started yet tell their client not to reuse the socket; Node closes it after them.
      for (const res of inFlight) {
        if (!res.headersSent) res.shouldKeepAlive = false;
      }
      // Sockets idle at SIGTERM close now; those whose response is still going get the grace
      // once it ends, so a request their client sends right after it gets a 503, not a reset.
      // (The endpoints controller stopped routing here during preStop, so an idle socket's
      // client has nothing more to send.)
      for (const [socket, state] of sockets) if (state.busy === 0) socket.destroy();
      const sweep = setInterval(() => closeIdle(Date.now()), 100);
      sweep.unref();
      const timer = setTimeout(() => {
        onDeadline?.();
        server.closeAllConnections();
        for (const socket of sockets.keys()) socket.destroy();
      }, deadlineMs);
      timer.unref();
      return closed.finally(() => {
        clearInterval(sweep);
        clearTimeout(timer);
      });
    },
  };
}
