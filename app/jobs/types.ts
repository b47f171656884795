import { toHttpError } from "../middleware/error-handler";

/** A chat completion request as clients send it (OpenAI shape); validated before it gets here. */
export interface ChatRequestBody {
  readonly model: string;
  readonly messages: readonly unknown[];
  readonly stream?: boolean;
  readonly [field: string]: unknown;
}

/** Who a completion runs for; the ledger and cache key on `tenant`, the ledger dedupes on `requestId`. */
export interface CompleteContext {
  readonly requestId: string;
  readonly tenant: string;
  readonly signal?: AbortSignal;
}

/** Runs one chat completion end to end (the gateway's `complete`); rejects with an HttpError or a domain error. */
export type CompleteFn = (request: ChatRequestBody, ctx: CompleteContext) => Promise<unknown>;

/** A failed completion as jobs and batch report it: the OpenAI error fields plus the status. */
export interface JobError {
  readonly message: string;
  readonly type: string;
  readonly code: string;
  readonly status: number;
}

/** What `GET /v1/jobs/:id` answers. */
export interface JobView {
  readonly id: string;
  readonly status: "processing" | "completed" | "failed";
  readonly response?: unknown;
  readonly error?: JobError;
}

/** A job to run. */
export interface JobSubmission {
  readonly request: ChatRequestBody;
  readonly tenant: string;
  /** Where the result is POSTed when done; http(s) only, validated by the route. */
  readonly callbackUrl?: string;
}

/** Where jobs wait, run and keep their results: BullMQ on Redis, or in process. */
export interface JobQueue {
  readonly kind: "redis" | "memory";
  /** Queues the job and returns its id at once. */
  submit(job: JobSubmission): Promise<string>;
  /** The job as its submitter sees it; undefined when unknown, expired or another tenant's. */
  get(id: string, tenant: string): Promise<JobView | undefined>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  /** Stops taking work and waits for running jobs (up to `deadlineMs`). */
  close(deadlineMs?: number): Promise<void>;
  /**
   * Stops picking up queued jobs at once (shutdown begins) while running ones finish and submit and
   * poll keep answering; `close` later waits for what runs. Queues that run jobs as they are submitted have none.
   */
  stopTaking?(): void;
}

/** The outcome a job stores. */
export type JobOutcome =
  | { readonly ok: true; readonly response: unknown }
  | { readonly ok: false; readonly error: JobError };

/** Turns any failure into the client-facing error fields (no stack, no secret). */
export function toJobError(error: unknown): JobError {
  const http = toHttpError(error);
  return { message: http.message, type: http.type, code: http.code, status: http.status };
}

/** Job ids are UUIDs; anything else is unknown without a store lookup. */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
