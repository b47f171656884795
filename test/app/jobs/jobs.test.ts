import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BullJobQueue } from "../../../app/jobs/bullmq-queue";
import { MemoryJobQueue } from "../../../app/jobs/memory-queue";
import type { JobQueue } from "../../../app/jobs/types";
import { createMetrics } from "../../../app/observability/metrics";
import { createApp } from "../../../app/server";
import { chat, standInComplete } from "../../helpers/complete";
import { testDeps } from "../../helpers/deps";
import { type Listening, listen } from "../../helpers/http";
import { deleteKeys, REDIS_URL, uniquePrefix } from "../../helpers/real-services";
import { deadPort } from "../../helpers/tcp-proxy";

type Kind = "memory" | "redis";

describe.each<Kind>(["memory", "redis"])("jobs (%s queue)", (kind) => {
  const servers: Listening[] = [];
  const queues: JobQueue[] = [];
  const prefixes = new Set<string>();
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const queue of queues.splice(0)) await queue.close();
    for (const prefix of prefixes) await deleteKeys(prefix);
    prefixes.clear();
  });

  const build = async (
    options: {
      prefix?: string;
      worker?: boolean;
      ttlSeconds?: number;
      clock?: { now(): number };
      env?: Record<string, string>;
    } = {},
  ) => {
    const stand = standInComplete();
    // Callbacks go to a local listener: allowed explicitly, as internal hosts are refused by default.
    const env = { AI_CALLBACK_ALLOW_HOSTS: "127.0.0.1", ...options.env };
    const deps = testDeps(env, options.clock ? { clock: options.clock } : {});
    const metrics = createMetrics({ events: deps.events, config: deps.config, processMetrics: false });
    const common = {
      complete: stand.complete,
      logger: deps.logger,
      metrics,
      clock: options.clock ?? { now: () => Date.now() },
      resultTtlSeconds: options.ttlSeconds ?? 300,
      callbackAllowHosts: deps.config.get().callbackAllowHosts,
    };
    const prefix = options.prefix ?? uniquePrefix("jobs");
    prefixes.add(prefix);
    const jobs: JobQueue =
      kind === "memory"
        ? new MemoryJobQueue(common)
        : new BullJobQueue({
            ...common,
            redisUrl: REDIS_URL,
            prefix,
            worker: options.worker ?? true,
          });
    queues.push(jobs);
    metrics.jobsQueuedFrom(() => jobs.depth());
    const server = await listen(createApp({ ...deps, ops: { jobs, complete: stand.complete, metrics } }));
    servers.push(server);
    return { url: server.url, stand, jobs, deps, metrics };
  };

  const submit = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  const poll = async (url: string, id: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/v1/jobs/${id}`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const until = (url: string, id: string, status: string) =>
    vi.waitFor(
      async () => {
        const view = await poll(url, id);
        expect(view.body["status"]).toBe(status);
        return view.body;
      },
      { timeout: 10_000, interval: 20 },
    );

  it("answers 202 with an id at once, reports processing, then the completed response", async () => {
    const { url, stand } = await build();
    stand.hold();
    const response = await submit(url, chat("hello"));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string; status: string };
    expect(body.status).toBe("processing");
    expect(response.headers.get("location")).toBe(`/v1/jobs/${body.id}`);
    expect((await poll(url, body.id)).body).toEqual({ id: body.id, status: "processing" });
    stand.release();
    const done = await until(url, body.id, "completed");
    expect(done["response"]).toMatchObject({ choices: [{ message: { content: "echo: hello" } }] });
    expect(stand.calls[0]?.ctx.requestId).toBe(body.id);
  });

  it("reports a failed completion with its OpenAI error and no stack", async () => {
    const { url } = await build();
    const failing = (await (await submit(url, chat("x", "fail-502"))).json()) as { id: string };
    const crashing = (await (await submit(url, chat("x", "crash"))).json()) as { id: string };
    expect(await until(url, failing.id, "failed")).toEqual({
      id: failing.id,
      status: "failed",
      error: { message: "Every upstream failed", type: "upstream_error", code: "all_failed", status: 502 },
    });
    const crashed = await until(url, crashing.id, "failed");
    expect(crashed["error"]).toEqual({
      message: "Internal gateway error",
      type: "server_error",
      code: "server_error",
      status: 500,
    });
  });

  it("answers 404 for unknown, malformed and other tenants' job ids", async () => {
    const keys = { GATEWAY_API_KEYS: "key-alpha,key-beta" };
    const { url } = await build({ env: keys });
    const alpha = { authorization: "Bearer key-alpha" };
    const { id } = (await (await submit(url, chat("mine"), alpha)).json()) as { id: string };
    await vi.waitFor(async () => expect((await poll(url, id, alpha)).body["status"]).toBe("completed"));
    const other = await poll(url, id, { authorization: "Bearer key-beta" });
    expect(other.status).toBe(404);
    const unknown = await poll(url, "00000000-0000-4000-8000-000000000000", alpha);
    expect(unknown).toEqual({
      status: 404,
      body: {
        error: {
          message: "No job 00000000-0000-4000-8000-000000000000 (unknown, expired or not yours)",
          type: "not_found_error",
          code: "job_not_found",
        },
      },
    });
    expect((await poll(url, "not-a-uuid", alpha)).status).toBe(404);
  });

  it("forgets results after the configured time", async () => {
    let now = Date.now();
    const { url } = await build({ ttlSeconds: 300, clock: { now: () => now } });
    const { id } = (await (await submit(url, chat("ttl"))).json()) as { id: string };
    await until(url, id, "completed");
    now += 299_000;
    expect((await poll(url, id)).status).toBe(200);
    now += 2_000;
    expect((await poll(url, id)).status).toBe(404);
  });

  it("rejects bad bodies and callback URLs with 400 naming the problem", async () => {
    const { url } = await build();
    const cases: [unknown, string][] = [
      [{ model: "m" }, "body: messages must be a non-empty array"],
      [
        { ...chat("x"), stream: true },
        "body: stream is not supported here; poll the job or use /v1/chat/completions",
      ],
      [
        { ...chat("x"), callbackUrl: "file:///etc/passwd" },
        "callbackUrl must be an http or https URL without credentials",
      ],
      [[1, 2], "body: expected a JSON object"],
    ];
    for (const [body, message] of cases) {
      const response = await submit(url, body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(message);
    }
    const malformed = await fetch(`${url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
  });

  it("fails when the callback host is internal and not allowed (SSRF), at submit with 400", async () => {
    const { url, stand } = await build({ env: { AI_CALLBACK_ALLOW_HOSTS: "" } });
    for (const [callbackUrl, reason] of [
      [
        "http://169.254.169.254/latest/meta-data/",
        "callbackUrl host 169.254.169.254 is a link-local address",
      ],
      ["http://127.0.0.1:9/done", "callbackUrl host 127.0.0.1 is a loopback address"],
      ["http://[fd12::1]/", "callbackUrl host fd12::1 is a unique-local address"],
    ]) {
      const response = await submit(url, { ...chat("x"), callbackUrl });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: unknown }).error).toEqual({
        message: `${reason}; allow it with AI_CALLBACK_ALLOW_HOSTS`,
        type: "invalid_request_error",
        code: "callback_url_refused",
      });
    }
    expect(stand.calls).toHaveLength(0);
  });

  it("POSTs the result to the callback URL", async () => {
    const received: unknown[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      let text = "";
      req.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on("end", () => {
        received.push(JSON.parse(text));
        res.end();
      });
    });
    hook.listen(0, "127.0.0.1");
    await once(hook, "listening");
    try {
      const { url } = await build();
      const callbackUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/done`;
      const { id } = (await (await submit(url, { ...chat("cb"), callbackUrl })).json()) as { id: string };
      await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 10_000 });
      expect(received[0]).toMatchObject({ id, status: "completed", response: { object: "chat.completion" } });
    } finally {
      hook.close();
    }
  });

  it("counts queued and finished jobs in the metrics", async () => {
    const { url, stand, metrics } = await build();
    stand.hold();
    const { id } = (await (await submit(url, chat("m"))).json()) as { id: string };
    await vi.waitFor(async () => expect(await metrics.render()).toContain("ai_gateway_jobs_queued 1"), {
      timeout: 10_000,
    });
    stand.release();
    await until(url, id, "completed");
    const text = await metrics.render();
    expect(text).toContain('ai_gateway_jobs_finished_total{status="completed"} 1');
    expect(text).toContain("ai_gateway_jobs_queued 0");
  });

  it("drains a running job before close resolves", async () => {
    const { url, stand, jobs } = await build();
    stand.hold();
    const { id } = (await (await submit(url, chat("drain"))).json()) as { id: string };
    await vi.waitFor(() => expect(stand.inFlight()).toBe(1), { timeout: 10_000 });
    let closed = false;
    const closing = jobs.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    stand.release();
    await closing;
    expect(stand.calls.map((call) => call.ctx.requestId)).toEqual([id]);
    queues.splice(queues.indexOf(jobs), 1);
  });

  if (kind === "redis") {
    it("serves the poll from any replica and runs a job accepted by a process that went away", async () => {
      const prefix = uniquePrefix("jobs-restart");
      const producer = await build({ prefix, worker: false });
      const { id } = (await (await submit(producer.url, chat("survive"))).json()) as { id: string };
      // The accepting process stops before any worker ran the job.
      await producer.jobs.close();
      await servers[0]!.close();
      servers.shift();
      queues.splice(queues.indexOf(producer.jobs), 1);

      const replicaA = await build({ prefix });
      const replicaB = await build({ prefix, worker: false });
      const done = await until(replicaB.url, id, "completed");
      expect(done["response"]).toMatchObject({ choices: [{ message: { content: "echo: survive" } }] });
      expect(replicaA.stand.calls).toHaveLength(1);
    });
  }
});

describe("BullMQ queue with Redis unreachable", () => {
  it("answers 503 instead of hanging, and the app keeps serving", async () => {
    const stand = standInComplete();
    const deps = testDeps();
    const jobs = new BullJobQueue({
      complete: stand.complete,
      logger: deps.logger,
      clock: { now: () => Date.now() },
      redisUrl: `redis://127.0.0.1:${await deadPort()}`,
      prefix: uniquePrefix("jobs-dead"),
      redisTimeoutMs: 200,
    });
    const server = await listen(createApp({ ...deps, ops: { jobs, complete: stand.complete } }));
    try {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${server.url}/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chat("x")),
        });
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({
          error: {
            message: "The job queue is unavailable (Redis unreachable); retry shortly",
            type: "server_error",
            code: "job_queue_unavailable",
          },
        });
      }
      const poll = await fetch(`${server.url}/v1/jobs/00000000-0000-4000-8000-000000000000`);
      expect(poll.status).toBe(503);
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    } finally {
      await server.close();
      await jobs.close();
    }
  });
});

describe("in-process queue shutdown", () => {
  it("drains running and waiting jobs before close resolves", async () => {
    const stand = standInComplete();
    const deps = testDeps();
    const jobs = new MemoryJobQueue({
      complete: stand.complete,
      logger: deps.logger,
      clock: { now: () => Date.now() },
      concurrency: 1,
    });
    stand.hold();
    const ids = [
      await jobs.submit({ request: chat("a"), tenant: "t" }),
      await jobs.submit({ request: chat("b"), tenant: "t" }),
    ];
    let closed = false;
    const closing = jobs.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    await expect(jobs.submit({ request: chat("late"), tenant: "t" })).rejects.toThrow("job queue is closed");
    stand.release();
    await closing;
    for (const id of ids) expect((await jobs.get(id, "t"))?.status).toBe("completed");
  });
});
