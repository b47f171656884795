import { afterEach, describe, expect, it } from "vitest";
import { parseChatRequest } from "../../../app/chat/schema";
import type { GatewayAlert } from "../../../app/gateway/chat-gateway";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const ctx = () => ({
  requestId: "job-1",
  tenant: "team-a",
  signal: new AbortController().signal,
  startedAt: Date.now(),
});

describe("ChatGateway used directly (batch, jobs, cache)", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("complete() reports provider, model, usage, attempts, fallback and upstream time", async () => {
    h = await startHarness({ env: { AI_FALLBACK_PROVIDERS: "groq" } });
    h.fakes.openai.script({ kind: "error", status: 500 });
    h.fakes.groq.script({ kind: "answer", text: "ok", usage: { input: 3, output: 1 } });
    const result = await h.deps.gateway.complete(
      parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
      ctx(),
    );
    expect(result).toMatchObject({
      provider: "groq",
      model: "llama-3.1-8b-instant",
      usage: { inputTokens: 3, outputTokens: 1 },
      attempts: 2,
      fallbackUsed: true,
      degraded: false,
      failures: [{ provider: "openai", model: "gpt-4o", kind: "upstream", status: 500 }],
    });
    expect(result.upstreamMs).toBeGreaterThan(0);
    expect(result.response.choices[0]?.message.content).toBe("ok");
  });

  it("stream() resolves with the first chunk in hand and reports usage once drained", async () => {
    h = await startHarness();
    h.fakes.openai.script({ kind: "answer", chunks: ["a", "b"], usage: { input: 2, output: 2 } });
    const result = await h.deps.gateway.stream(
      parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], stream: true }),
      ctx(),
    );
    expect(result.provider).toBe("openai");
    const text: string[] = [];
    for await (const chunk of result.chunks) text.push(chunk.choices[0]?.delta.content ?? "");
    expect(text.join("")).toBe("ab");
    expect(result.usage()).toEqual({ inputTokens: 2, outputTokens: 2 });
  });

  it("lists a provider's models for health and raises an alert when a key is rejected", async () => {
    h = await startHarness({
      fakeOptions: { claude: { validKeys: ["sk-ant-good"] } },
      env: { CLAUDE_API_KEY: "sk-ant-bad" },
    });
    const alerts: GatewayAlert[] = [];
    h.deps.gateway.onAlert((alert) => alerts.push(alert));
    expect(await h.deps.gateway.listModels("openai", new AbortController().signal)).toEqual([
      "gpt-4o",
      "gpt-4o-mini",
    ]);
    await expect(
      h.deps.gateway.complete(
        parseChatRequest({
          model: "claude/claude-3-5-haiku-latest",
          messages: [{ role: "user", content: "x" }],
        }),
        ctx(),
      ),
    ).rejects.toThrow(
      "All providers failed: claude/claude-3-5-haiku-latest: authentication (claude: 401 Invalid API key provided)",
    );
    expect(alerts).toEqual([
      {
        source: "auth",
        provider: "claude",
        message: "claude rejected API key 1 of 1 (401); no other key to rotate to",
      },
    ]);
    const claude = h.deps.gateway.providerStates().find((state) => state.provider === "claude");
    expect(claude).toMatchObject({
      circuit: "closed",
      lastErrorKind: "authentication",
      key: { key: 1, of: 1 },
    });
  });

  it("applies breaker settings from a config reload without a restart", async () => {
    h = await startHarness();
    const config = h.deps.config.get();
    h.deps.config.set({ ...config, breakerThreshold: 1 });
    h.fakes.openai.script({ kind: "error", status: 500 });
    const request = parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] });
    await expect(h.deps.gateway.complete(request, ctx())).rejects.toThrow("All providers failed");
    expect(h.deps.gateway.providerStates().find((state) => state.provider === "openai")?.circuit).toBe(
      "open",
    );
    await expect(h.deps.gateway.complete(request, ctx())).rejects.toThrow(
      "All providers failed: openai/gpt-4o: circuit_open (openai: circuit open)",
    );
    expect(h.fakes.openai.chatRequests()).toHaveLength(1);
  });
});
