import type { Logger } from "pino";
import { fetch as undiciFetch } from "undici";
import type { Metrics } from "../observability/metrics";
import {
  type CallbackLookup,
  callbackAllowList,
  callbackDispatcher,
  callbackRefusal,
} from "../security/callback-guard";
import { type CompleteFn, type JobOutcome, type JobSubmission, type JobView, toJobError } from "./types";

/** What running a job needs, shared by both queues. */
export interface JobRunnerOptions {
  readonly complete: CompleteFn;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** @default undici's fetch through a pool whose DNS lookup refuses internal addresses */
  readonly fetch?: typeof fetch;
  /** How long a callback POST may take. @default 10_000 */
  readonly callbackTimeoutMs?: number;
  /**
   * Internal hosts callbacks may reach (`AI_CALLBACK_ALLOW_HOSTS`); any other
   * callback resolving to a loopback, private, link-local or unique-local
   * address is not sent. @default [] (none)
   */
  readonly callbackAllowHosts?: readonly string[];
  /** Resolves callback hosts. @default DNS */
  readonly callbackLookup?: CallbackLookup;
}

const NONE: readonly string[] = [];

/** The view of a finished job. */
export function finishedView(id: string, outcome: JobOutcome): JobView {
  return outcome.ok
    ? { id, status: "completed", response: outcome.response }
    : { id, status: "failed", error: outcome.error };
}

/**
 * Runs one job: the completion (the job id doubles as the request id, so the
 * ledger counts a re-run job once), then the callback. Never rejects.
 */
export async function runJob(options: JobRunnerOptions, id: string, job: JobSubmission): Promise<JobOutcome> {
  let outcome: JobOutcome;
  try {
    outcome = {
      ok: true,
      response: await options.complete(job.request, { requestId: id, tenant: job.tenant }),
    };
  } catch (error) {
    outcome = { ok: false, error: toJobError(error) };
    if (outcome.error.status >= 500) options.logger.warn({ jobId: id, err: error }, "job failed");
  }
  options.metrics?.jobFinished(outcome.ok ? "completed" : "failed");
  if (job.callbackUrl) await postCallback(options, job.callbackUrl, finishedView(id, outcome));
  return outcome;
}

async function postCallback(options: JobRunnerOptions, url: string, view: JobView): Promise<void> {
  // Checked again at delivery: the host's DNS may have changed since submit.
  const allow = callbackAllowList(options.callbackAllowHosts ?? NONE);
  const refusal = await callbackRefusal(url, allow, options.callbackLookup);
  if (refusal) {
    options.logger.warn({ jobId: view.id, reason: refusal }, "job callback not sent");
    return;
  }
  try {
    const init = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(view),
      signal: AbortSignal.timeout(options.callbackTimeoutMs ?? 10_000),
      redirect: "manual" as const,
    };
    // The connection's own lookup refuses internal addresses too, so a host
    // re-resolving between the check and the connect (DNS rebinding) is not reached.
    const response: { ok: boolean; status: number; body: { cancel(): Promise<void> } | null } = options.fetch
      ? await options.fetch(url, init)
      : await undiciFetch(url, { ...init, dispatcher: callbackDispatcher(allow) });
    await response.body?.cancel();
    if (!response.ok)
      options.logger.warn({ jobId: view.id, status: response.status }, "job callback refused");
  } catch (error) {
    options.logger.warn(
      // fetch reports "fetch failed"; the cause says why (refused address, refused connection, …).
      { jobId: view.id, err: { message: (error as Error).message, cause: causeMessage(error) } },
      "job callback failed",
    );
  }
}

function causeMessage(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Error ? cause.message : undefined;
}
