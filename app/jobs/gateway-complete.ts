import type { Budget } from "../budget/budget";
import type { ResponseCache } from "../cache/response-cache";
import { type Biller, type ChatAnswer, runChat } from "../chat/pipeline";
import { parseChatRequest } from "../chat/schema";
import type { ChatCompletion } from "../chat/types";
import type { ConfigStore } from "../config/config-store";
import type { ChatGateway } from "../gateway/chat-gateway";
import type { GatewayEvents } from "../observability/events";
import type { ListModels, ProviderState, ProviderStatesSource } from "../observability/health";
import type { Clock } from "../resilience/clock";
import { checkPromptLimits, limitsOf } from "../security/limits";
import type { CompleteFn } from "./types";

/** The response cache jobs and batch share with chat, the hooks a hit is reported on, and the ledger that bills. */
export interface CompleteCache {
  readonly cache?: ResponseCache;
  readonly events?: GatewayEvents;
  readonly ledger?: Biller;
}

/**
 * Jobs and batch run the chat path without HTTP: the chat schema and prompt
 * limits, then the response cache (identical items share one upstream call, a
 * hit is recorded at zero cost), the budget check on a miss, and the gateway's
 * `complete` (routing, retry, breakers, failover, with the hooks so metrics
 * and the ledger see them like any chat request). Answers the OpenAI
 * completion body.
 */
export function gatewayComplete(
  gateway: ChatGateway,
  config: ConfigStore,
  clock: Clock,
  budget?: Budget,
  cached: CompleteCache = {},
): CompleteFn {
  const options = {
    gateway,
    config,
    clock,
    budget,
    cache: cached.cache,
    events: cached.events,
    ledger: cached.ledger,
  };
  return async (body, ctx) => {
    const request = parseChatRequest(body);
    // The same check as at submit, with the limits in force now (a reload may have lowered them).
    checkPromptLimits(request.messages, limitsOf(config.get()));
    const chat = {
      requestId: ctx.requestId,
      tenant: ctx.tenant,
      signal: ctx.signal ?? new AbortController().signal,
      startedAt: clock.now(),
    };
    return runChat(options, { request, ctx: chat }, KEEP_COMPLETION);
  };
}

/** Jobs and batch keep the completion body (a streaming request is served whole). */
const KEEP_COMPLETION: ChatAnswer<ChatCompletion> = {
  completion: (result) => result.response,
  hit: (entry) => entry.completion,
};

/** The router's breaker states keyed by provider, in the shape the health routes read. */
export function gatewayProviderStates(gateway: ChatGateway): ProviderStatesSource {
  return () => {
    const states: Record<string, ProviderState> = {};
    for (const { provider, circuit, ...recent } of gateway.providerStates()) {
      states[provider] = { state: circuit, ...recent };
    }
    return states;
  };
}

/** What the operations surface takes from the gateway: completions, breaker states, the models-list probe. */
export function gatewayOps(
  gateway: ChatGateway,
  config: ConfigStore,
  clock: Clock,
  budget?: Budget,
  cached: CompleteCache = {},
): { complete: CompleteFn; providerStates: ProviderStatesSource; listModels: ListModels } {
  return {
    complete: gatewayComplete(gateway, config, clock, budget, cached),
    providerStates: gatewayProviderStates(gateway),
    listModels: (provider, signal) => gateway.listModels(provider, signal),
  };
}
