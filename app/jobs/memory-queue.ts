import { randomUUID } from "node:crypto";
import { HttpError } from "../errors";
import type { Clock } from "../resilience/clock";
import { finishedView, type JobRunnerOptions, runJob } from "./run-job";
import type { JobOutcome, JobQueue, JobSubmission, JobView } from "./types";

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions extends JobRunnerOptions {
  readonly clock: Clock;
  /** How long a finished job's result is kept. @default 300 */
  readonly resultTtlSeconds?: number;
  /** Jobs run at once. @default 4 */
  readonly concurrency?: number;
}

interface Entry {
  readonly job: JobSubmission;
  outcome?: JobOutcome;
  finishedAt?: number;
}

/** The in-process job queue used without Redis: results live as long as the process. */
export class MemoryJobQueue implements JobQueue {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: MemoryJobQueueOptions) {}

  async submit(job: JobSubmission): Promise<string> {
    if (this.closed) {
      throw new HttpError(503, {
        message: "job queue is closed; the gateway is shutting down",
        type: "server_error",
        code: "shutting_down",
        headers: { "retry-after": "1" },
      });
    }
    this.sweep();
    const id = randomUUID();
    this.entries.set(id, { job });
    this.waiting.push(id);
    this.pump();
    return id;
  }

  async get(id: string, tenant: string): Promise<JobView | undefined> {
    this.sweep();
    const entry = this.entries.get(id);
    if (!entry || entry.job.tenant !== tenant) return undefined;
    return entry.outcome ? finishedView(id, entry.outcome) : { id, status: "processing" };
  }

  async depth(): Promise<number> {
    return this.waiting.length + this.running.size;
  }

  async close(deadlineMs = 30_000): Promise<void> {
    this.closed = true;
    const drained = (async () => {
      while (this.running.size > 0) await Promise.all(this.running);
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 4;
    while (this.running.size < limit && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      const entry = this.entries.get(id)!;
      const task: Promise<void> = runJob(this.options, id, entry.job).then((outcome) => {
        entry.outcome = outcome;
        entry.finishedAt = this.options.clock.now();
        this.running.delete(task);
        this.pump();
      });
      this.running.add(task);
    }
  }

  private sweep(): void {
    const cutoff = this.options.clock.now() - (this.options.resultTtlSeconds ?? 300) * 1000;
    for (const [id, entry] of this.entries) {
      if (entry.finishedAt !== undefined && entry.finishedAt <= cutoff) this.entries.delete(id);
    }
  }
}
