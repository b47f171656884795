import { APIError } from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  CircuitChangeEvent,
  ErrorEvent,
  FallbackEvent,
  RetryEvent,
} from "../../../app/observability/events";
import { ManualClock } from "../../helpers/clock";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const ask = { model: "gpt-4o", messages: [{ role: "user" as const, content: "Hello" }] };

async function collectText(stream: AsyncIterable<{ choices: { delta: { content?: string | null } }[] }>) {
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return text;
}

describe("chat resilience through the OpenAI SDK", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await h?.close();
    h = undefined;
  });

  it("retries a 429 with Retry-After: 1 only after that delay", async () => {
    const clock = new ManualClock(true);
    h = await startHarness({ clock, env: { AI_MAX_RETRIES: "2" } });
    const retries: RetryEvent[] = [];
    h.deps.events.on("onRetry", (event) => retries.push(event));
    h.fakes.openai.script(
      { kind: "rate_limit", retryAfter: "1" },
      { kind: "answer", text: "after the wait" },
    );

    const pending = h.client.chat.completions.create(ask).withResponse();
    await clock.waitForSleep();
    expect(clock.sleeps).toEqual([1000]);
    expect(h.fakes.openai.chatRequests()).toHaveLength(1);

    clock.advance(1000);
    const { data, response } = await pending;
    expect(data.choices[0]?.message.content).toBe("after the wait");
    expect(h.fakes.openai.chatRequests()).toHaveLength(2);
    expect(response.headers.get("x-ai-attempts")).toBe("2");
    expect(retries).toMatchObject([{ provider: "openai", attempt: 1, reason: "rate_limit", delayMs: 1000 }]);
  });

  it("does not retry a 401, rotates to the next key and raises an alert without the key", async () => {
    h = await startHarness({
      env: {
        OPENAI_API_KEY: "",
        OPENAI_API_KEY_1: "sk-pool-first-key",
        OPENAI_API_KEY_2: "sk-pool-second-key",
        AI_MAX_RETRIES: "3",
      },
    });
    h.fakes.openai.script({ kind: "error", status: 401 });

    const failure = await h.client.chat.completions.create(ask).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).status).toBe(502);
    expect((failure as APIError).message).toBe(
      "502 All providers failed: openai/gpt-4o: authentication (openai: 401 Invalid API key provided)",
    );
    expect(h.fakes.openai.chatRequests().map((r) => r.apiKey)).toEqual(["sk-pool-first-key"]);

    const { data } = await h.client.chat.completions.create(ask).withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello from openai");
    expect(h.fakes.openai.chatRequests().map((r) => r.apiKey)).toEqual([
      "sk-pool-first-key",
      "sk-pool-second-key",
    ]);

    const alert = h.deps.logs.records().find((line) => line["alert"] === "auth");
    expect(alert?.["msg"]).toBe("openai rejected API key 1 of 2 (401); rotated to the next key");
    expect(h.deps.logs.lines.join("\n")).not.toContain("sk-pool-");
  });

  it("rotates to the next key of the pool on a 429 and retries with it", async () => {
    h = await startHarness({
      env: {
        OPENAI_API_KEY: "",
        OPENAI_API_KEY_1: "sk-pool-one",
        OPENAI_API_KEY_2: "sk-pool-two",
        AI_MAX_RETRIES: "1",
      },
    });
    h.fakes.openai.script({ kind: "rate_limit" });
    const { response } = await h.client.chat.completions.create(ask).withResponse();
    expect(response.headers.get("x-ai-attempts")).toBe("2");
    expect(h.fakes.openai.chatRequests().map((r) => r.apiKey)).toEqual(["sk-pool-one", "sk-pool-two"]);
  });

  it("opens the breaker after 5 failures, skips the provider, and closes after one probe past the cool-down", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude", AI_BREAKER_COOLDOWN_SECONDS: "60" } });
    const circuit: CircuitChangeEvent[] = [];
    h.deps.events.on("onCircuitChange", (event) => circuit.push(event));
    h.fakes.openai.script(...Array.from({ length: 5 }, () => ({ kind: "error" as const, status: 500 })));

    for (let i = 0; i < 5; i++) {
      const { response } = await h.client.chat.completions.create(ask).withResponse();
      expect(response.headers.get("x-ai-provider")).toBe("claude");
    }
    expect(circuit).toEqual([{ provider: "openai", state: "open" }]);
    expect(h.deps.gateway.providerStates().find((s) => s.provider === "openai")?.circuit).toBe("open");

    const skipped = await h.client.chat.completions.create(ask).withResponse();
    expect(skipped.response.headers.get("x-ai-provider")).toBe("claude");
    expect(skipped.response.headers.get("x-ai-attempts")).toBe("1");
    expect(h.fakes.openai.chatRequests()).toHaveLength(5);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 60_001);
    const probe = await h.client.chat.completions.create(ask).withResponse();
    expect(probe.response.headers.get("x-ai-provider")).toBe("openai");
    expect(h.fakes.openai.chatRequests()).toHaveLength(6);
    expect(circuit.map((event) => event.state)).toEqual(["open", "half-open", "closed"]);
  });

  it("fails over when the primary is down, and x-ai-provider names the fallback", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "gemini,claude" } });
    const fallbacks: FallbackEvent[] = [];
    h.deps.events.on("onFallback", (event) => fallbacks.push(event));
    h.fakes.openai.script({ kind: "reset" });
    h.fakes.gemini.script({ kind: "error", status: 503 });

    const { data, response } = await h.client.chat.completions.create(ask).withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello from claude");
    expect(response.headers.get("x-ai-provider")).toBe("claude");
    expect(response.headers.get("x-ai-attempts")).toBe("3");
    expect(fallbacks).toMatchObject([
      { from: "openai", to: "gemini", reason: "upstream" },
      { from: "gemini", to: "claude", reason: "upstream" },
    ]);
  });

  it("fails a stream over when it fails before its first chunk", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude" } });
    h.fakes.openai.script({ kind: "error", status: 503 });
    h.fakes.claude.script({ kind: "answer", chunks: ["from ", "claude"] });

    const { data: stream, response } = await h.client.chat.completions
      .create({ ...ask, stream: true })
      .withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("claude");
    expect(await collectText(stream)).toBe("from claude");
    expect(h.fakes.openai.chatRequests()).toHaveLength(1);
  });

  it("ends a stream that fails after its first chunk with an error event, without failing over", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude" } });
    h.fakes.openai.script({ kind: "stream_dies", chunks: ["Hel", "lo"] });

    const stream = await h.client.chat.completions.create({ ...ask, stream: true });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((error: unknown) => error);
    expect(received.join("")).toBe("Hello");
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toMatch(/^Stream interrupted: openai: connection failed \(\w+\)$/);
    expect(h.fakes.claude.chatRequests()).toHaveLength(0);
  });

  it("counts a stream that dies after its first chunk against the provider's breaker", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "claude", AI_BREAKER_THRESHOLD: "2" } });
    const circuit: CircuitChangeEvent[] = [];
    const errors: ErrorEvent[] = [];
    h.deps.events.on("onCircuitChange", (event) => circuit.push(event));
    h.deps.events.on("onError", (event) => errors.push(event));
    h.fakes.openai.script(
      { kind: "stream_dies", chunks: ["Hel", "lo"] },
      { kind: "stream_dies", chunks: ["Hel", "lo"] },
    );

    for (let i = 0; i < 2; i++) {
      const stream = await h.client.chat.completions.create({ ...ask, stream: true });
      const failure = await collectText(stream).catch((error: unknown) => error);
      expect((failure as APIError).message).toMatch(/^Stream interrupted: openai: connection failed/);
    }
    expect(circuit).toEqual([{ provider: "openai", state: "open" }]);
    expect(errors).toMatchObject([
      { provider: "openai", status: 502, type: "upstream_error" },
      { provider: "openai", status: 502, type: "upstream_error" },
    ]);
    expect(h.deps.gateway.providerStates().find((s) => s.provider === "openai")?.lastErrorKind).toBe(
      "upstream",
    );

    const { data, response } = await h.client.chat.completions.create(ask).withResponse();
    expect(response.headers.get("x-ai-provider")).toBe("claude");
    expect(data.choices[0]?.message.content).toBe("Hello from claude");
    expect(h.fakes.openai.chatRequests()).toHaveLength(2);
  });

  it("aborts the upstream call when the client disconnects", async () => {
    h = await startHarness();
    h.fakes.openai.script({ kind: "hang" });
    const controller = new AbortController();
    const pending = h.client.chat.completions
      .create(ask, { signal: controller.signal })
      .catch((error: unknown) => error);
    await h.fakes.openai.waitForRequests(1);
    controller.abort();
    await h.fakes.openai.waitForAbort();
    expect(h.fakes.openai.abortedRequests).toBe(1);
    expect((await pending) as Error).toBeInstanceOf(Error);
  });

  it("aborts a streaming upstream when the client disconnects mid-stream", async () => {
    h = await startHarness();
    h.fakes.openai.script({ kind: "answer", chunks: ["first", "never sent"], chunkDelayMs: 60_000 });
    const controller = new AbortController();
    const stream = await h.client.chat.completions.create(
      { ...ask, stream: true },
      { signal: controller.signal },
    );
    const received: string[] = [];
    const reading = (async () => {
      for await (const chunk of stream) {
        received.push(chunk.choices[0]?.delta.content ?? "");
        if (received.includes("first")) controller.abort();
      }
    })();
    await h.fakes.openai.waitForAbort();
    expect(h.fakes.openai.abortedRequests).toBe(1);
    // The SDK ends an aborted stream quietly; what matters is the upstream was hung up on.
    await reading;
    expect(received).toEqual(["", "first"]);
    // A client hanging up is not the provider's fault.
    expect(
      h.deps.gateway.providerStates().find((s) => s.provider === "openai")?.lastFailureAt,
    ).toBeUndefined();
  });
});
