import { type RequestHandler, Router } from "express";
import type { ConfigStore } from "../config/config-store";
import { HttpError } from "../errors";
import { type ChatRequestBody, type CompleteFn, JOB_ID, type JobQueue, toJobError } from "../jobs/types";
import { type CallbackLookup, callbackAllowList, callbackRefusal } from "../security/callback-guard";
import { limitsOf } from "../security/limits";
import type { ClientRateLimiter } from "../security/rate-limit";
import { checkChatRequest, type RequestCheckOptions } from "../security/request-checks";

/**
 * Checks the shape jobs and batch need before queueing (an object with a
 * `model` and a non-empty `messages` array, not streaming); the completion
 * itself validates the rest.
 */
export function parseJobRequest(body: unknown, where = "body"): ChatRequestBody {
  const bad = (message: string) =>
    new HttpError(400, {
      message: `${where}: ${message}`,
      type: "invalid_request_error",
      code: "invalid_request",
    });
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("expected a JSON object");
  const request = body as Record<string, unknown>;
  if (typeof request["model"] !== "string" || request["model"] === "")
    throw bad("model must be a non-empty string");
  if (!Array.isArray(request["messages"]) || request["messages"].length === 0) {
    throw bad("messages must be a non-empty array");
  }
  if (request["stream"] === true)
    throw bad("stream is not supported here; poll the job or use /v1/chat/completions");
  return request as ChatRequestBody;
}

/** Accepts http(s) callback URLs only. */
export function parseCallbackUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const url = typeof value === "string" && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) {
    throw new HttpError(400, {
      message: "callbackUrl must be an http or https URL without credentials",
      type: "invalid_request_error",
      code: "invalid_callback_url",
    });
  }
  return url.toString();
}

/**
 * Refuses (400 naming the reason) a callback whose host is or resolves to an
 * internal address (SSRF) unless `AI_CALLBACK_ALLOW_HOSTS` allows it. The
 * runner checks again before delivery, as DNS may have changed.
 */
async function refuseInternalCallback(url: string, options: JobRouteOptions): Promise<void> {
  const allow = callbackAllowList(options.config.get().callbackAllowHosts);
  const refusal = await callbackRefusal(url, allow, options.callbackLookup);
  if (refusal) {
    throw new HttpError(400, {
      message: refusal,
      type: "invalid_request_error",
      code: "callback_url_refused",
    });
  }
}

/** Options of {@link jobRoutes}. */
export interface JobRouteOptions extends RequestCheckOptions {
  readonly jobs: JobQueue;
  /** Resolves callback hosts. @default DNS */
  readonly callbackLookup?: CallbackLookup;
}

/** `POST /v1/jobs` (202 with an id at once) and `GET /v1/jobs/:id`. */
export function jobRoutes(options: JobRouteOptions): Router {
  const router = Router();
  router.post("/v1/jobs", async function submitJob(req, res) {
    const isObject = typeof req.body === "object" && req.body !== null && !Array.isArray(req.body);
    const { callbackUrl, ...rest } = (isObject ? req.body : {}) as Record<string, unknown>;
    const request = parseJobRequest(isObject ? rest : req.body);
    const callback = parseCallbackUrl(callbackUrl);
    checkChatRequest(options, request, res.locals["requestId"]);
    if (callback) await refuseInternalCallback(callback, options);
    const id = await options.jobs.submit({
      request,
      tenant: String(res.locals["tenant"] ?? "anonymous"),
      ...(callback ? { callbackUrl: callback } : {}),
    });
    res.setHeader("location", `/v1/jobs/${id}`);
    res.status(202).json({ id, status: "processing" });
  });
  router.get("/v1/jobs/:id", async function pollJob(req, res) {
    const id = req.params.id;
    const view = JOB_ID.test(id)
      ? await options.jobs.get(id, String(res.locals["tenant"] ?? "anonymous"))
      : undefined;
    if (!view) {
      throw new HttpError(404, {
        message: `No job ${id.slice(0, 64)} (unknown, expired or not yours)`,
        type: "not_found_error",
        code: "job_not_found",
      });
    }
    res.setHeader("cache-control", "no-store");
    res.json(view);
  });
  return router;
}

/** Options of {@link batchRoute}. */
export interface BatchRouteOptions extends RequestCheckOptions {
  readonly config: ConfigStore;
  readonly complete: CompleteFn;
  /** Charges the batch's items beyond the first against the client's request limit. */
  readonly limiter?: ClientRateLimiter;
}

/**
 * Runs `items` through `worker` with at most `concurrency` at once, results in
 * input order. Once `signal` aborts no further item starts (their results stay empty).
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      results[index] = await worker(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** `POST /v1/batch`: each request run with bounded concurrency; one failure never fails the batch. */
export function batchRoute(options: BatchRouteOptions): RequestHandler {
  return async function runBatch(req, res) {
    const config = options.config.get();
    const limits = limitsOf(config);
    const requests = (req.body as { requests?: unknown } | undefined)?.requests;
    if (!Array.isArray(requests) || requests.length === 0) {
      throw new HttpError(400, {
        message: "requests must be a non-empty array of chat requests",
        type: "invalid_request_error",
        code: "invalid_request",
      });
    }
    if (requests.length > limits.maxBatchSize) {
      throw new HttpError(400, {
        message: `Too many requests in the batch: ${requests.length}; the limit is ${limits.maxBatchSize}`,
        type: "invalid_request_error",
        code: "batch_too_large",
      });
    }
    const tenant = String(res.locals["tenant"] ?? "anonymous");
    const batchId = String(res.locals["requestId"]);
    if (options.limiter && requests.length > 1) await options.limiter.admit(tenant, requests.length - 1);
    // A client that hangs up stops the batch: items not started are cancelled
    // (never sent, never paid for) and those running have their upstream call aborted.
    const hangUp = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) hangUp.abort(new Error("client disconnected"));
    });
    const results = await mapConcurrent(
      requests,
      limits.batchConcurrency,
      async (item, index) => {
        const requestId = `${batchId}:${index}`;
        try {
          const request = parseJobRequest(item, `requests[${index}]`);
          checkChatRequest(options, request, requestId);
          const response = await options.complete(request, { requestId, tenant, signal: hangUp.signal });
          return { success: true as const, response };
        } catch (error) {
          return { success: false as const, error: toJobError(error) };
        }
      },
      hangUp.signal,
    );
    if (hangUp.signal.aborted) return;
    res.json({ results });
  };
}
