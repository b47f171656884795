import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { HttpError } from "../errors";
import type { Clock } from "../resilience/clock";
import { finishedView, type JobRunnerOptions, runJob } from "./run-job";
import type { JobOutcome, JobQueue, JobSubmission, JobView } from "./types";

/** Options of {@link BullJobQueue}. */
export interface BullJobQueueOptions extends JobRunnerOptions {
  readonly redisUrl: string;
  readonly clock: Clock;
  /** @default "ai-gateway-jobs" */
  readonly queueName?: string;
  /** Redis key prefix; tests pass a unique one. @default "bull" */
  readonly prefix?: string;
  /** How long a finished job's result is kept. @default 300 */
  readonly resultTtlSeconds?: number;
  /** Jobs this process runs at once. @default 4 */
  readonly concurrency?: number;
  /** Run a worker in this process; false makes a producer only. @default true */
  readonly worker?: boolean;
  /** How long a submit or poll may wait on Redis before answering 503. @default 5_000 */
  readonly redisTimeoutMs?: number;
  /**
   * Other queues a poll looks in after this one (the other blue-green slot's), read only: a job
   * accepted by one slot stays there to run, and stays pollable through either Service after a flip.
   * @default []
   */
  readonly pollQueueNames?: readonly string[];
}

function unavailable(): HttpError {
  return new HttpError(503, {
    message: "The job queue is unavailable (Redis unreachable); retry shortly",
    type: "server_error",
    code: "job_queue_unavailable",
    headers: { "retry-after": "5" },
  });
}

interface StoredJob extends JobSubmission {}

/**
 * Jobs on BullMQ: any replica answers the poll, and a queued job outlives the
 * process that accepted it. BullMQ gets its own connections (blocking
 * commands need `maxRetriesPerRequest: null`), apart from the request path's.
 */
export class BullJobQueue implements JobQueue {
  readonly kind = "redis";
  private readonly queue: Queue<StoredJob, JobOutcome>;
  private readonly worker: Worker<StoredJob, JobOutcome> | undefined;
  private readonly connections: Redis[] = [];
  private readonly ttlMs: number;
  private readonly producer: Redis;
  /** This queue, then the queues polls also look in. */
  private readonly pollQueues: Queue<StoredJob, JobOutcome>[];

  constructor(private readonly options: BullJobQueueOptions) {
    const name = options.queueName ?? "ai-gateway-jobs";
    const prefix = options.prefix ?? "bull";
    this.ttlMs = (options.resultTtlSeconds ?? 300) * 1000;
    const connect = (role: string) => {
      const client = new Redis(options.redisUrl, {
        maxRetriesPerRequest: null,
        connectionName: `ai-gateway:jobs-${role}`,
        retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      });
      // Errors surface on the queue and worker; without a listener ioredis would log to stderr.
      client.on("error", () => {});
      this.connections.push(client);
      return client;
    };
    this.producer = connect("queue");
    this.queue = new Queue<StoredJob, JobOutcome>(name, { connection: this.producer, prefix });
    this.queue.on("error", (error) =>
      options.logger.warn({ err: { message: error.message } }, "job queue error"),
    );
    this.pollQueues = [
      this.queue,
      ...(options.pollQueueNames ?? [])
        .filter((other) => other !== name)
        .map((other) => {
          const queue = new Queue<StoredJob, JobOutcome>(other, { connection: this.producer, prefix });
          queue.on("error", () => {});
          return queue;
        }),
    ];
    if (options.worker ?? true) {
      this.worker = new Worker<StoredJob, JobOutcome>(name, (job) => runJob(options, job.id!, job.data), {
        connection: connect("worker"),
        prefix,
        concurrency: options.concurrency ?? 4,
      });
      this.worker.on("error", (error) =>
        options.logger.warn({ err: { message: error.message } }, "job worker error"),
      );
    }
  }

  /**
   * BullMQ's connections queue commands while Redis is down (blocking workers
   * need that); a client request must not hang on it, so it gets a 503.
   */
  private async withRedis<T>(operation: () => Promise<T>): Promise<T> {
    if (["reconnecting", "close", "end"].includes(this.producer.status)) throw unavailable();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(unavailable()), this.options.redisTimeoutMs ?? 5_000);
    });
    try {
      return await Promise.race([operation(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async submit(job: JobSubmission): Promise<string> {
    const id = randomUUID();
    const ageSeconds = Math.ceil(this.ttlMs / 1000);
    await this.withRedis(() =>
      this.queue.add("chat", job, {
        jobId: id,
        removeOnComplete: { age: ageSeconds },
        removeOnFail: { age: ageSeconds },
      }),
    );
    return id;
  }

  async get(id: string, tenant: string): Promise<JobView | undefined> {
    return this.withRedis(() => this.read(id, tenant));
  }

  private async read(id: string, tenant: string): Promise<JobView | undefined> {
    let job: Awaited<ReturnType<Queue<StoredJob, JobOutcome>["getJob"]>>;
    for (const queue of this.pollQueues) {
      job = await queue.getJob(id);
      if (job) break;
    }
    if (!job || job.data.tenant !== tenant) return undefined;
    // BullMQ trims finished jobs lazily; the TTL is enforced here as well.
    if (job.finishedOn !== undefined && this.options.clock.now() - job.finishedOn >= this.ttlMs)
      return undefined;
    const state = await job.getState();
    if (state === "completed") return finishedView(id, job.returnvalue);
    if (state === "failed") {
      // The processor never throws, so this is a job that stalled too often (its worker kept dying).
      return {
        id,
        status: "failed",
        error: { message: "The job could not be run", type: "server_error", code: "job_failed", status: 500 },
      };
    }
    return { id, status: "processing" };
  }

  async depth(): Promise<number> {
    // Read at every /metrics scrape: never wait on a connection that is not up.
    if (this.producer.status !== "ready") throw unavailable();
    const counts = await this.withRedis(() =>
      this.queue.getJobCounts("waiting", "active", "delayed", "prioritized"),
    );
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  stopTaking(): void {
    // Worker.close waits for the running jobs; a second call (from close) shares the same promise.
    if (this.producer.status === "ready") void this.worker?.close().catch(() => undefined);
  }

  async close(deadlineMs = 30_000): Promise<void> {
    // Worker.close waits for the jobs it is running; waiting ones stay in Redis
    // for other replicas. With Redis down nothing can be handed back, so do not wait.
    const healthy = this.producer.status === "ready";
    const graceful = (async () => {
      await this.worker?.close(!healthy);
      for (const queue of this.pollQueues) await queue.close();
    })().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, healthy ? deadlineMs : 0);
    });
    await Promise.race([graceful, deadline]);
    clearTimeout(timer);
    for (const client of this.connections) client.disconnect();
  }
}
