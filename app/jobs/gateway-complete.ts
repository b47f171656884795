import type { Budget } from "../budget/budget";
import { parseChatRequest } from "../chat/schema";
import type { ConfigStore } from "../config/config-store";
import type { ChatGateway } from "../gateway/chat-gateway";
import type { ListModels, ProviderState, ProviderStatesSource } from "../observability/health";
import { checkPromptLimits, limitsOf } from "../security/limits";
import type { Clock } from "../server";
import type { CompleteFn } from "./types";

/**
 * Jobs and batch run through the gateway's `complete`: the chat schema, then
 * routing, retry, breakers and failover, with the hooks (so metrics and the
 * ledger see them like any chat request) and the budget check. Answers the
 * OpenAI completion body.
 */
export function gatewayComplete(
  gateway: ChatGateway,
  config: ConfigStore,
  clock: Clock,
  budget?: Budget,
): CompleteFn {
  return async (body, ctx) => {
    const request = parseChatRequest(body);
    // The same check as at submit, with the limits in force now (a reload may have lowered them).
    checkPromptLimits(request.messages, limitsOf(config.get()));
    // The same refusal as chat once today's budget is spent (AI_BUDGET_ENFORCE); jobs and batch skip the cache.
    await budget?.check();
    const result = await gateway.complete(request, {
      requestId: ctx.requestId,
      tenant: ctx.tenant,
      signal: ctx.signal ?? new AbortController().signal,
      startedAt: clock.now(),
    });
    return result.response;
  };
}

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
): { complete: CompleteFn; providerStates: ProviderStatesSource; listModels: ListModels } {
  return {
    complete: gatewayComplete(gateway, config, clock, budget),
    providerStates: gatewayProviderStates(gateway),
    listModels: (provider, signal) => gateway.listModels(provider, signal),
  };
}
