import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { estimatePromptTokens, estimateTextTokens } from "../budget/estimate";
import type { ChatRequest } from "../chat/schema";
import { type ChatCompletionChunk, type OpenAIUsage, toOpenAIUsage, type Usage } from "../chat/types";
import type { ConfigStore } from "../config/config-store";
import type { ProviderName, TargetSpec } from "../config/defaults";
import type { GatewayConfig } from "../config/load-config";
import {
  BadRequestError,
  ClientClosedError,
  ProviderError,
  TimeoutError,
  UnsupportedContentError,
  UpstreamError,
} from "../errors";
import { toHttpError } from "../middleware/error-handler";
import type { AlertSink } from "../observability/alerts";
import type { GatewayEvents, ResponseEvent } from "../observability/events";
import { closeProviders, createProviders, KeyPools, type ProviderRegistry } from "../providers";
import { type ResilienceClock, realClock } from "../resilience/clock";
import { executeResilient, ProviderBreakers } from "../resilience/policies";
import { AllTargetsFailed, degradedCompletion, degradedStream } from "./degraded";
import { type Call, describeFailure, type RoutePlan, type Served } from "./failover";
import { type KeyRotation, rotateKeyOnFailure } from "./key-rotation";
import { logGatewayEvents } from "./log-hooks";
import { ProviderHealthBook } from "./provider-health";
import { type Resolution, Router } from "./routing";
import type {
  ChatContext,
  ChatOutcome,
  CompletionResult,
  GatewayAlert,
  ProviderState,
  StreamResult,
  TargetFailure,
} from "./types";

export { DEGRADED_REPLY } from "./degraded";
export type {
  ChatContext,
  ChatOutcome,
  CompletionResult,
  GatewayAlert,
  ProviderState,
  StreamResult,
  TargetFailure,
} from "./types";

/** Options of {@link ChatGateway}. */
export interface ChatGatewayOptions {
  readonly config: ConfigStore;
  readonly logger: Logger;
  readonly events: GatewayEvents;
  /** @default - adapters for the configured base URLs */
  readonly providers?: ProviderRegistry;
  /** @default - real time */
  readonly clock?: ResilienceClock;
  /** @default Math.random */
  readonly random?: () => number;
  /** Where breaker and key alerts go (log, metric, webhook). @default - logged only */
  readonly alert?: AlertSink;
  /** Log every hook as a structured line. @default true */
  readonly logEvents?: boolean;
}

/**
 * The chat service the HTTP route, batch and jobs share: resolves the model to
 * ordered targets, runs each through its provider's breaker, retry and
 * timeout, fails over, and emits the typed hooks. Callers add caching,
 * budgets and ledger around `complete` / `stream`.
 */
export class ChatGateway {
  /** Every provider's adapter (health probes call `listModels`). */
  readonly adapters: ProviderRegistry;
  readonly router: Router;
  private readonly keys: KeyPools;
  private breakers: ProviderBreakers;
  private readonly clock: ResilienceClock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly events: GatewayEvents;
  private readonly store: ConfigStore;
  private readonly health = new ProviderHealthBook();
  private readonly alertListeners: ((alert: GatewayAlert) => void)[] = [];
  private readonly alertSink: AlertSink | undefined;
  private readonly rotation: KeyRotation;

  constructor(options: ChatGatewayOptions) {
    this.store = options.config;
    this.logger = options.logger;
    this.events = options.events;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.alertSink = options.alert;
    const config = options.config.get();
    this.adapters = options.providers ?? createProviders(config, { now: () => this.clock.now() });
    this.router = new Router(this.random);
    if (options.logEvents !== false) logGatewayEvents(this.events, this.logger);
    this.keys = new KeyPools((provider) => this.store.get().providers[provider].apiKeys);
    this.breakers = this.createBreakers(config);
    this.rotation = {
      keys: this.keys,
      events: this.events,
      logger: this.logger,
      alert: (alert) => this.alert(alert),
    };
    // A reload that changes the breaker settings starts fresh breakers with them.
    this.store.onChange((next, previous) => {
      if (
        next.breakerThreshold !== previous.breakerThreshold ||
        next.breakerCooldownSeconds !== previous.breakerCooldownSeconds
      ) {
        this.breakers = this.createBreakers(next);
      }
    });
  }

  private createBreakers(config: GatewayConfig): ProviderBreakers {
    return new ProviderBreakers(
      { threshold: config.breakerThreshold, cooldownMs: config.breakerCooldownSeconds * 1000 },
      (provider, state) => {
        this.events.emit("onCircuitChange", { provider, state });
        if (state === "open") {
          this.alert({
            source: "breaker",
            provider,
            message: `${provider} circuit opened after repeated failures`,
          });
        }
      },
    );
  }

  /**
   * Answers a non-streaming request. Throws a domain error (app/errors.ts);
   * app/middleware/error-handler.ts maps it to what the client sees.
   */
  async complete(request: ChatRequest, ctx: ChatContext, resolved?: Resolution): Promise<CompletionResult> {
    try {
      const served = await this.serve(request, ctx, resolved, false, (adapter, target, signal, apiKey) =>
        adapter.complete(request, { model: target.model, apiKey, signal, requestId: ctx.requestId }),
      );
      if (served instanceof AllTargetsFailed) {
        this.emitDegraded(ctx, served, false);
        this.logDegraded(ctx, served);
        return degradedCompletion(request, ctx, served, this.clock.now());
      }
      const result: CompletionResult = {
        response: served.value.completion,
        usage: served.value.usage,
        ...this.outcome(served),
      };
      this.emitResponse(ctx, result, result.usage, false);
      return result;
    } catch (error) {
      throw this.fail(error, ctx, request.model);
    }
  }

  /**
   * Opens a stream. Resolves once the first chunk is in hand, so retries and
   * failover are over before the caller sends a byte; a failure after that
   * surfaces as an error thrown from `chunks`.
   */
  async stream(request: ChatRequest, ctx: ChatContext, resolved?: Resolution): Promise<StreamResult> {
    try {
      const served = await this.serve(
        request,
        ctx,
        resolved,
        true,
        async (adapter, target, signal, apiKey) => {
          const upstream = await adapter.stream(request, {
            model: target.model,
            apiKey,
            signal,
            requestId: ctx.requestId,
          });
          const iterator = upstream[Symbol.asyncIterator]();
          const first = await iterator.next();
          return { upstream, iterator, first };
        },
      );
      if (served instanceof AllTargetsFailed) {
        this.emitDegraded(ctx, served, true);
        this.logDegraded(ctx, served);
        return degradedStream(request, ctx, served, this.clock.now());
      }
      const outcome = this.outcome(served);
      const { upstream, iterator, first } = served.value;
      const usage = (): Usage => upstream.usage() ?? { inputTokens: 0, outputTokens: 0 };
      const includeUsage = request.stream_options?.include_usage === true;
      const gateway = this;
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        let finished = false;
        let last: ChatCompletionChunk | undefined;
        // What the client was sent, for the estimate if it leaves before usage arrives.
        let streamed = "";
        try {
          let next = first;
          while (!next.done) {
            last = next.value;
            streamed += deltaText(next.value);
            yield next.value;
            next = await iterator.next();
          }
          finished = true;
          // Billed before the last yield: a client leaving at the usage chunk is still billed once.
          gateway.emitResponse(ctx, outcome, usage(), true);
          await gateway.breakers.recordSuccess(outcome.provider);
          if (includeUsage) yield usageChunk(last, outcome.model, toOpenAIUsage(usage()));
        } catch (error) {
          finished = true;
          if (ctx.signal.aborted) {
            // The client hung up mid-stream (its signal aborted the upstream call): bill what was produced.
            gateway.emitAbandoned(ctx, outcome, request, upstream.usage(), streamed, true, 499);
            throw error;
          }
          await gateway.streamFailed(error, ctx, outcome);
          // The upstream failed (or went idle) after sending part of an answer: the provider bills
          // what it produced, so the ledger does too (status 502), estimated when it reported less.
          gateway.emitAbandoned(ctx, outcome, request, upstream.usage(), streamed, true, 502);
          throw error;
        } finally {
          if (!finished) {
            // The client stopped reading: stop the upstream, then bill what it produced.
            await iterator.return?.();
            gateway.emitAbandoned(ctx, outcome, request, upstream.usage(), streamed, true, 499);
          }
        }
      }
      return { ...outcome, chunks: chunks(), usage };
    } catch (error) {
      throw this.fail(error, ctx, request.model);
    }
  }

  /**
   * The ordered targets of the request's model (app/gateway/routing.ts); the
   * pipeline resolves once and passes them to the cache key and to
   * `complete` / `stream`. An unknown model is reported (`onRequest`, then
   * `onError` with its 404) like any failed request, then thrown.
   */
  resolve(request: ChatRequest, ctx: ChatContext, stream: boolean): Resolution {
    try {
      return this.router.resolve(request.model, this.store.get());
    } catch (error) {
      this.events.emit("onRequest", {
        ...this.who(ctx),
        model: request.model,
        stream,
        startedAt: ctx.startedAt,
      });
      throw this.fail(error, ctx, request.model);
    }
  }

  // What complete and stream share: the onRequest hook, routing (unless the
  // caller resolved already), the content check and failover. Returns the
  // failure when the degraded reply should be sent.
  private async serve<T>(
    request: ChatRequest,
    ctx: ChatContext,
    resolved: Resolution | undefined,
    stream: boolean,
    call: Call<T>,
  ): Promise<Served<T> | AllTargetsFailed> {
    const config = this.store.get();
    this.events.emit("onRequest", {
      ...this.who(ctx),
      model: request.model,
      stream,
      startedAt: ctx.startedAt,
    });
    const { targets } = resolved ?? this.router.resolve(request.model, config);
    const failures: TargetFailure[] = [];
    const able = this.ableTargets(request, ctx, targets, failures);
    try {
      return await this.route({ request, targets: able, skipped: failures, config, stream }, ctx, call);
    } catch (error) {
      if (error instanceof AllTargetsFailed && config.degradedReply) return error;
      throw error;
    }
  }

  // Targets whose vendor can take the request's content. One that cannot is
  // skipped (recorded as a failure, never sent a lossy translation); when none
  // can, the client gets a 400 naming the part and the provider.
  private ableTargets(
    request: ChatRequest,
    ctx: ChatContext,
    targets: readonly TargetSpec[],
    failures: TargetFailure[],
  ): readonly TargetSpec[] {
    let able: TargetSpec[] | undefined;
    for (let index = 0; index < targets.length; index++) {
      const target = targets[index]!;
      const reason = this.adapters[target.provider].unsupportedContent?.(request);
      if (reason === undefined) {
        able?.push(target);
        continue;
      }
      if (!able) able = targets.slice(0, index);
      failures.push({ ...target, kind: "bad_request", status: 400, message: reason });
      const next = targets[index + 1];
      if (next) {
        this.events.emit("onFallback", {
          requestId: ctx.requestId,
          from: target.provider,
          to: next.provider,
          reason: "bad_request",
        });
      }
    }
    if (!able) return targets;
    if (able.length === 0) {
      throw new UnsupportedContentError(failures[0]!.message);
    }
    return able;
  }

  /**
   * Runs `call` on `targets` in order with the same breakers, retry, timeout,
   * key pools and failover as chat: the embeddings path (app/gateway/embed-gateway.ts).
   * Throws {@link AllTargetsFailed} when none answered.
   */
  runTargets<T>(targets: readonly TargetSpec[], ctx: ChatContext, call: Call<T>): Promise<Served<T>> {
    return this.route({ targets, skipped: [], config: this.store.get(), stream: false }, ctx, call);
  }

  /** Circuit state and last outcome of every provider, for health checks. */
  providerStates(): ProviderState[] {
    return this.health.states(this.breakers, this.keys);
  }

  /** Lists a provider's models with the key in use: a cheap, unbilled health probe. */
  listModels(provider: ProviderName, signal: AbortSignal): Promise<string[]> {
    return this.adapters[provider].listModels({ apiKey: this.keys.current(provider), signal });
  }

  /**
   * Observes the breaker and key alerts this gateway raises (they are sent
   * through the `alert` sink of the options); returns the unsubscribe function.
   */
  onAlert(listener: (alert: GatewayAlert) => void): () => void {
    this.alertListeners.push(listener);
    return () => {
      const index = this.alertListeners.indexOf(listener);
      if (index !== -1) this.alertListeners.splice(index, 1);
    };
  }

  /** Closes the upstream connection pools. */
  async close(): Promise<void> {
    await closeProviders(this.adapters);
  }

  private async route<T>(plan: RoutePlan, ctx: ChatContext, call: Call<T>): Promise<Served<T>> {
    const { targets, config, stream } = plan;
    const failures = [...plan.skipped];
    const skipped = failures.length;
    let attempts = 0;
    // The client hung up while an attempt was in flight: the provider has the prompt.
    let leftMidCall = false;
    let upstreamMs = 0;
    for (let index = 0; index < targets.length; index++) {
      const target = targets[index]!;
      const { provider } = target;
      const adapter = this.adapters[provider];
      try {
        const value = await executeResilient({
          breaker: this.breakers.get(provider),
          retry: { timeoutMs: config.timeoutSeconds * 1000, maxRetries: config.maxRetries },
          clock: this.clock,
          random: this.random,
          signal: ctx.signal,
          // A stream counts as a success for the breaker once it has ended cleanly.
          deferSuccess: stream,
          timeoutReason: () =>
            new TimeoutError(`${provider}: no answer within ${config.timeoutSeconds} s`, provider),
          onRetry: ({ attempt, error, delayMs }) => {
            this.events.emit("onRetry", {
              requestId: ctx.requestId,
              provider,
              model: target.model,
              attempt,
              reason: error instanceof ProviderError ? error.kind : "upstream",
              delayMs,
            });
          },
          attempt: async ({ signal }) => {
            attempts++;
            const apiKey = this.keys.current(provider);
            const started = performance.now();
            try {
              return await call(adapter, target, signal, apiKey);
            } catch (error) {
              if (ctx.signal.aborted) {
                leftMidCall = true;
                throw ctx.signal.reason;
              }
              throw this.attemptFailed(ctx, target, apiKey, error);
            } finally {
              upstreamMs += performance.now() - started;
            }
          },
        });
        this.health.succeeded(provider, this.clock.now());
        return { value, target, attempts, upstreamMs, fallbackUsed: index + skipped > 0, failures };
      } catch (error) {
        if (ctx.signal.aborted) {
          if (leftMidCall && plan.request) {
            // Providers bill a prompt they were sent even if the caller leaves: so does the ledger.
            const fallbackUsed = index + skipped > 0;
            const outcome = this.outcome({
              value: undefined,
              target,
              attempts,
              upstreamMs,
              fallbackUsed,
              failures,
            });
            this.emitAbandoned(ctx, outcome, plan.request, undefined, "", stream, 499);
          }
          throw new ClientClosedError();
        }
        if (error instanceof BadRequestError) throw error;
        const failure = describeFailure(target, error);
        failures.push(failure);
        const next = targets[index + 1];
        if (next) {
          this.events.emit("onFallback", {
            requestId: ctx.requestId,
            from: provider,
            to: next.provider,
            reason: failure.kind,
          });
        }
      }
    }
    throw new AllTargetsFailed(targets[0]!, failures, attempts);
  }

  // Classifies a failed attempt, rotates the key on 401/429 and raises the auth alert.
  private attemptFailed(
    ctx: ChatContext,
    target: TargetSpec,
    apiKey: string | undefined,
    error: unknown,
  ): ProviderError {
    const { provider } = target;
    let failure: ProviderError;
    if (error instanceof ProviderError) failure = error;
    else {
      this.logger.error({ err: error, provider }, "provider adapter failed unexpectedly");
      failure = new UpstreamError(`${provider}: unexpected response`, provider, undefined, { cause: error });
    }
    this.health.failed(provider, failure.kind, this.clock.now());
    this.events.emit("onUpstreamError", {
      requestId: ctx.requestId,
      provider,
      model: target.model,
      type: failure.kind,
      status: failure.status,
    });
    rotateKeyOnFailure(this.rotation, ctx, provider, apiKey, failure);
    return failure;
  }

  // A stream that dies after its first chunk is the provider's failure (its
  // breaker counts it); one the client hung up on is not.
  private async streamFailed(error: unknown, ctx: ChatContext, outcome: ChatOutcome): Promise<void> {
    const { provider, model } = outcome;
    let status = 499;
    let type = "invalid_request_error";
    let message = "Client closed the request";
    if (!ctx.signal.aborted) {
      const failure =
        error instanceof ProviderError
          ? error
          : new UpstreamError(`${provider}: stream failed`, provider, undefined, { cause: error });
      this.health.failed(provider, failure.kind, this.clock.now());
      this.events.emit("onUpstreamError", {
        requestId: ctx.requestId,
        provider,
        model,
        type: failure.kind,
        status: failure.status,
      });
      await this.breakers.recordFailure(provider, failure);
      status = 502;
      type = "upstream_error";
      message = `stream failed after its first chunk: ${failure.message}`;
    }
    this.events.emit("onError", {
      ...this.who(ctx),
      provider,
      model,
      status,
      type,
      message,
      attempts: outcome.attempts,
      durationMs: this.clock.now() - ctx.startedAt,
    });
  }

  private alert(alert: GatewayAlert): void {
    this.logger.error({ alert: alert.source, provider: alert.provider }, alert.message);
    this.alertSink?.({ ...alert, severity: "warning", details: { provider: alert.provider } });
    for (const listener of this.alertListeners) {
      try {
        listener(alert);
      } catch (error) {
        this.logger.error({ err: error }, "alert listener failed");
      }
    }
  }

  private who(ctx: ChatContext): { requestId: string; tenant: string } {
    return { requestId: ctx.requestId, tenant: ctx.tenant };
  }

  private outcome(served: Served<unknown>): ChatOutcome {
    return {
      provider: served.target.provider,
      model: served.target.model,
      attempts: served.attempts,
      fallbackUsed: served.fallbackUsed,
      upstreamMs: Math.round(served.upstreamMs * 1000) / 1000,
      degraded: false,
      failures: served.failures,
    };
  }

  private emitResponse(
    ctx: ChatContext,
    outcome: ChatOutcome,
    usage: Usage,
    stream: boolean,
    billed: { status: number; estimated: boolean } = { status: 200, estimated: false },
  ): void {
    const event: ResponseEvent = {
      ...this.who(ctx),
      provider: outcome.provider,
      model: outcome.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      durationMs: this.clock.now() - ctx.startedAt,
      upstreamMs: outcome.upstreamMs,
      attempts: outcome.attempts,
      fallbackUsed: outcome.fallbackUsed,
      cacheHit: false,
      stream,
      status: billed.status,
      ...(billed.estimated ? { estimated: true } : {}),
    };
    ctx.bill?.(event);
    // A stream the upstream broke is reported by onError (streamFailed); only billed here.
    if (billed.status !== 502) this.events.emit("onResponse", event);
  }

  /**
   * Bills a call cut short: the client left (status 499) or the upstream
   * failed mid-stream (502). The usage the provider
   * reported when it covers what was streamed, else an estimate (the prompt
   * and the text streamed so far, with a real tokenizer), flagged `estimated`.
   * A call left before any answer (`streamed` empty) is billed its prompt.
   */
  private emitAbandoned(
    ctx: ChatContext,
    outcome: ChatOutcome,
    request: ChatRequest,
    reported: Usage | undefined,
    streamed: string,
    stream: boolean,
    status: 499 | 502,
  ): void {
    const output = estimateTextTokens(streamed);
    const usage: Usage =
      reported && reported.outputTokens >= output
        ? reported
        : {
            inputTokens: reported?.inputTokens || estimatePromptTokens(request.messages),
            outputTokens: output,
          };
    this.emitResponse(ctx, outcome, usage, stream, { status, estimated: usage !== reported });
  }

  // Reports a failure as `onError` with the status the client sees (mapped in
  // app/middleware/error-handler.ts) and returns it to rethrow unchanged.
  private fail(error: unknown, ctx: ChatContext, model: string): unknown {
    let attempts = 0;
    let provider: ProviderName | undefined;
    if (error instanceof AllTargetsFailed) {
      attempts = error.attempts;
      // The last target tried gave the error the client sees.
      provider = error.failures.at(-1)?.provider;
    }
    const httpError = toHttpError(error);
    if (httpError.status >= 500 && httpError.cause === error) {
      this.logger.error({ err: error, requestId: ctx.requestId }, "chat request failed unexpectedly");
    }
    this.events.emit("onError", {
      ...this.who(ctx),
      ...(provider ? { provider } : {}),
      model,
      status: httpError.status,
      type: httpError.type,
      message: httpError.message,
      attempts,
      durationMs: this.clock.now() - ctx.startedAt,
    });
    return error;
  }

  private logDegraded(ctx: ChatContext, error: AllTargetsFailed): void {
    this.logger.warn(
      { requestId: ctx.requestId, failures: error.failures },
      "every provider failed; degraded reply",
    );
  }

  // A degraded reply is a 200 to the client but a failure to operators: its own hook, so
  // metrics count it (the error-rate alert includes it) while the ledger and limits ignore it.
  private emitDegraded(ctx: ChatContext, error: AllTargetsFailed, stream: boolean): void {
    this.events.emit("onDegraded", {
      ...this.who(ctx),
      provider: error.target.provider,
      model: error.target.model,
      stream,
      attempts: error.attempts,
      durationMs: this.clock.now() - ctx.startedAt,
    });
  }
}

/** The text a chunk carries: content, refusal and tool-call arguments. */
function deltaText(chunk: ChatCompletionChunk): string {
  let text = "";
  for (const choice of chunk.choices) {
    const delta = choice.delta as {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: ReadonlyArray<{ function?: { name?: string; arguments?: string } }>;
    };
    text += (delta.content ?? "") + (delta.refusal ?? "");
    for (const call of delta.tool_calls ?? [])
      text += (call.function?.name ?? "") + (call.function?.arguments ?? "");
  }
  return text;
}

function usageChunk(
  last: ChatCompletionChunk | undefined,
  model: string,
  usage: OpenAIUsage,
): ChatCompletionChunk {
  return {
    id: last?.id ?? "",
    object: "chat.completion.chunk",
    created: last?.created ?? Math.floor(Date.now() / 1000),
    model: last?.model ?? model,
    choices: [],
    usage,
  };
}
