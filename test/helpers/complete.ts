import { HttpError } from "../../app/errors";
import type { ChatRequestBody, CompleteContext, CompleteFn } from "../../app/jobs/types";

/** A stand-in for the gateway's `complete`: answers in OpenAI shape, fails on demand, can be held. */
export interface StandInComplete {
  readonly complete: CompleteFn;
  readonly calls: { request: ChatRequestBody; ctx: CompleteContext }[];
  /** Holds every completion until `release()`. */
  hold(): void;
  release(): void;
  /** Completions running right now. */
  inFlight(): number;
  /** The most completions that ran at once. */
  peak(): number;
}

/** Model "fail-502" rejects with an upstream error, "crash" with a plain Error; anything else echoes. */
export function standInComplete(): StandInComplete {
  const calls: { request: ChatRequestBody; ctx: CompleteContext }[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let running = 0;
  let peak = 0;
  const complete: CompleteFn = async (request, ctx) => {
    calls.push({ request, ctx });
    running++;
    peak = Math.max(peak, running);
    try {
      await gate;
      await new Promise((resolve) => setImmediate(resolve));
      if (request.model === "fail-502") {
        throw new HttpError(502, {
          message: "Every upstream failed",
          type: "upstream_error",
          code: "all_failed",
        });
      }
      if (request.model === "crash") throw new Error("boom at /srv/app.ts:12");
      const last = request.messages[request.messages.length - 1] as { content?: unknown };
      return {
        id: `chatcmpl-${ctx.requestId}`,
        object: "chat.completion",
        model: request.model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: `echo: ${String(last.content)}` },
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      };
    } finally {
      running--;
    }
  };
  return {
    complete,
    calls,
    hold: () => {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release: () => {
      open?.();
      gate = undefined;
    },
    inFlight: () => running,
    peak: () => peak,
  };
}

/** A chat request with one user message. */
export function chat(content: string, model = "gpt-4o-mini"): ChatRequestBody {
  return { model, messages: [{ role: "user", content }] };
}
