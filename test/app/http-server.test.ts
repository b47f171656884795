import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../app/http-server";
import { type FakeUpstream, startOpenAIFake } from "../fakes";
import { type BuiltGateway, ensureBuilt, startBuiltGateway } from "../helpers/built";
import { seedLedger } from "../helpers/data-dir";
import { tempDir } from "../helpers/real-services";

// Issue 14 findings 5 (SIGTERM and keep-alive) and 6 (socket-level limits), against the built bundle.

let openai: FakeUpstream;
const data = tempDir();
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  openai = await startOpenAIFake();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await openai.close();
  data.cleanup();
});

async function start(env: Record<string, string> = {}): Promise<BuiltGateway> {
  const gateway = await startBuiltGateway({
    DATA_DIR: seedLedger(data.dir),
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    OPENAI_API_KEY: "sk-test-edge",
    OPENAI_BASE_URL: `${openai.origin}/v1`,
    ...env,
  });
  children.push(gateway.child);
  return gateway;
}

/** How one request on a keep-alive agent ended. */
interface Outcome {
  /** The status, or the error code when no response came (ECONNREFUSED, ECONNRESET, …). */
  readonly result: number | string;
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string;
  /** Sent on a socket an earlier request had used. */
  readonly reused: boolean;
}

/** Sends a chat request through `agent`; `onHeaders` runs once the response's headers arrived. */
function chat(
  url: string,
  agent: Agent,
  body: Record<string, unknown>,
  onHeaders: () => void = () => {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${url}/v1/chat/completions`,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      (res) => {
        onHeaders();
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            result: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            reused: req.reusedSocket,
          }),
        );
        res.on("error", (error: NodeJS.ErrnoException) =>
          resolve({ result: error.code ?? error.message, reused: req.reusedSocket }),
        );
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ result: error.code ?? error.message, reused: req.reusedSocket }),
    );
    req.end(JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body }));
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A request that arrived on an open socket after SIGTERM: a 503 that closes the socket. */
const SHUTTING_DOWN = {
  result: 503,
  headers: expect.objectContaining({ connection: "close", "retry-after": "1" }),
  body: expect.stringContaining('"code":"shutting_down"'),
};

describe("SIGTERM with busy keep-alive sockets", () => {
  it("tells responses not started yet to close their socket, so no later request is accepted or reset", async () => {
    const gateway = await start();
    const count = 4;
    openai.script(...Array.from({ length: count }, () => ({ kind: "answer" as const, delayMs: 1_500 })));
    const agents = Array.from({ length: count }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const first = agents.map((agent) => chat(gateway.url, agent, {}));
    await openai.waitForRequests(count);
    gateway.child.kill("SIGTERM");
    await until(() => gateway.records.some((record) => record["msg"] === "shutting down"));

    const answers = await Promise.all(first);
    // Without the fix these said keep-alive, and the request sent right after was accepted or reset.
    for (const answer of answers) {
      expect(answer.result).toBe(200);
      expect(answer.headers?.["connection"]).toBe("close");
    }
    // The agents dropped those sockets, so the next request needs a new connection, which is refused.
    const next = await Promise.all(agents.map((agent) => chat(gateway.url, agent, {})));
    for (const outcome of next) expect(outcome).toMatchObject({ result: "ECONNREFUSED", reused: false });
    const [code] = await once(gateway.child, "exit");
    expect(code).toBe(0);
    for (const agent of agents) agent.destroy();
  });

  it("answers a request arriving on a streamed response's keep-alive socket 503 with Connection: close", async () => {
    const gateway = await start();
    const count = 3;
    openai.script(
      ...Array.from({ length: count }, () => ({
        kind: "answer" as const,
        chunks: ["one ", "two ", "three ", "four"],
        chunkDelayMs: 400,
      })),
    );
    const agents = Array.from({ length: count }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    let started = 0;
    // Each client sends its next request the moment its stream ends, on the same socket.
    const outcomes = agents.map(async (agent) => {
      const stream = await chat(gateway.url, agent, { stream: true }, () => started++);
      return { stream, next: await chat(gateway.url, agent, {}) };
    });
    // Every stream's headers (keep-alive) went out before SIGTERM.
    await until(() => started === count);
    gateway.child.kill("SIGTERM");
    for (const { stream, next } of await Promise.all(outcomes)) {
      expect(stream.result).toBe(200);
      expect(stream.body).toContain("data: [DONE]");
      // Without the fix this was accepted (200) or reset (ECONNRESET, socket hang up).
      expect(next).toMatchObject({ ...SHUTTING_DOWN, reused: true });
    }
    const [code] = await once(gateway.child, "exit");
    expect(code).toBe(0);
    expect(
      gateway.records.some(
        (record) => record["msg"] === "shutdown deadline reached; closing remaining connections",
      ),
    ).toBe(false);
    for (const agent of agents) agent.destroy();
  });
});

/** Opens a raw TCP connection; resolves once connected. */
async function rawSocket(url: string): Promise<Socket> {
  const { port } = new URL(url);
  const socket = connect(Number(port), "127.0.0.1");
  socket.setEncoding("utf8");
  await once(socket, "connect");
  return socket;
}

/** Resolves when the socket is closed, with whatever the server wrote on it. */
function closed(socket: Socket): Promise<string> {
  let text = "";
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(text)));
}

/** One HTTP/1.1 GET on a raw keep-alive socket; resolves with the response head and body as text. */
async function getOn(socket: Socket, path: string): Promise<string> {
  let text = "";
  const done = new Promise<string>((resolve, reject) => {
    const onData = (chunk: string) => {
      text += chunk;
      const head = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && text.length >= head + 4 + Number(length)) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error(`socket closed; got ${JSON.stringify(text)}`)));
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: keep-alive\r\n\r\n`);
  return done;
}

describe("socket-level limits", () => {
  it("closes sockets that send their headers slowly once the headers timeout passes, and serves others meanwhile", async () => {
    const gateway = await start({ GATEWAY_HEADERS_TIMEOUT_SECONDS: "1" });
    const slow = await Promise.all(Array.from({ length: 50 }, () => rawSocket(gateway.url)));
    const ends = slow.map(closed);
    for (const socket of slow) socket.write("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n");
    // A header line every 200 ms, never the blank line that ends them: the slowloris pattern.
    let line = 0;
    const drip = setInterval(() => {
      line++;
      for (const socket of slow) if (!socket.destroyed) socket.write(`x-drip-${line}: ${line}\r\n`);
    }, 200);
    try {
      const live = await fetch(`${gateway.url}/health/live`);
      expect(live.status).toBe(200);
      // Without the fix (a 66 s headers timeout checked every 30 s) these stayed open past the test's timeout.
      const written = await Promise.all(ends);
      for (const text of written) expect(text === "" || text.startsWith("HTTP/1.1 408")).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it("refuses connections beyond GATEWAY_MAX_CONNECTIONS and keeps serving the open ones", async () => {
    const gateway = await start({ GATEWAY_MAX_CONNECTIONS: "3" });
    const held = await Promise.all([0, 1, 2].map(() => rawSocket(gateway.url)));
    for (const socket of held) expect(await getOn(socket, "/health/live")).toMatch(/^HTTP\/1.1 200/);

    // Without the fix the fourth connection was served like the others.
    const extra = await rawSocket(gateway.url);
    const extraEnd = closed(extra);
    extra.write("GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n");
    expect(await extraEnd).toBe("");

    expect(await getOn(held[0]!, "/health/live")).toMatch(/^HTTP\/1.1 200/);
    const metrics = await getOn(held[1]!, "/metrics");
    expect(metrics).toMatch(/^ai_gateway_connections_refused_total [1-9]/m);
    // A slot frees up: a new connection is served again.
    const freed = closed(held[2]!);
    held[2]!.end();
    await freed;
    let served = false;
    while (!served) {
      const socket = await rawSocket(gateway.url);
      const end = closed(socket);
      socket.write("GET /health/live HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n");
      served = (await end).startsWith("HTTP/1.1 200");
    }
    expect(served).toBe(true);
    for (const socket of held) socket.destroy();
  });
});

describe("malformed requests", () => {
  it("answers an OpenAI-shaped 400 that the client reads even while its body is still arriving", async () => {
    // In process: the server alone, with an app that would answer 200 to anything well formed.
    const http = createHttpServer((_req, res) => res.end("ok"));
    const port = await http.listen(0, "127.0.0.1");
    try {
      const socket = await rawSocket(`http://127.0.0.1:${port}`);
      const answer = closed(socket);
      // A Latin-1 byte in the request target is not HTTP; the body keeps coming after the headers.
      socket.write(
        Buffer.from(
          "GET /v1/usage?date=\u00a0 HTTP/1.1\r\nHost: g\r\nContent-Length: 3000000\r\n\r\n",
          "latin1",
        ),
      );
      for (let sent = 0; sent < 3_000_000 && !socket.destroyed; sent += 100_000) {
        socket.write(Buffer.alloc(100_000, 91));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      socket.end();
      // Node's own handler wrote a bodiless 400 and destroyed the socket, resetting it under the client.
      const text = await answer;
      expect(text).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
      expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4))).toEqual({
        error: {
          message: "Malformed HTTP request",
          type: "invalid_request_error",
          code: "malformed_request",
        },
      });
      // A HEAD request's answer carries no body, or its client would read the body as garbage.
      const head = await rawSocket(`http://127.0.0.1:${port}`);
      const headAnswer = closed(head);
      head.end(Buffer.from("HEAD /v1/usage?date=\u00a0 HTTP/1.1\r\nHost: g\r\n\r\n", "latin1"));
      expect(await headAnswer).toMatch(/^HTTP\/1.1 400 Bad Request\r\n[\s\S]*\r\n\r\n$/);
    } finally {
      http.server.closeAllConnections();
      http.server.close();
    }
  });
});
