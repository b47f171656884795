import { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import type { CircuitChangeEvent, UpstreamErrorEvent } from "../../../app/observability/events";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

// Faults after a stream has started, through the gateway and the OpenAI SDK:
// the three wire formats (OpenAI-compatible, Claude, Gemini) each.
const TARGETS = [
  { provider: "openai", model: "gpt-4o", keyVariable: "OPENAI_API_KEY" },
  { provider: "claude", model: "claude-3-5-haiku-latest", keyVariable: "CLAUDE_API_KEY" },
  { provider: "gemini", model: "gemini-1.5-flash", keyVariable: "GEMINI_API_KEY" },
] as const;

async function readStream(h: GatewayHarness, model: string): Promise<{ text: string; failure: unknown }> {
  const stream = await h.client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "Hello" }],
    stream: true,
  });
  let text = "";
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  } catch (error) {
    return { text, failure: error };
  }
  return { text, failure: undefined };
}

describe("stream faults after the first chunk", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const target of TARGETS) {
    it(`ends a ${target.provider} stream that stalls after two chunks with an error event the breaker counts`, async () => {
      h = await startHarness({
        env: {
          AI_PROVIDER: target.provider,
          AI_MODEL: target.model,
          AI_STREAM_IDLE_TIMEOUT_SECONDS: "0.2",
          AI_BREAKER_THRESHOLD: "1",
        },
      });
      const circuit: CircuitChangeEvent[] = [];
      const upstreamErrors: UpstreamErrorEvent[] = [];
      h.deps.events.on("onCircuitChange", (event) => circuit.push(event));
      h.deps.events.on("onUpstreamError", (event) => upstreamErrors.push(event));
      h.fakes[target.provider].script({ kind: "stream_stalls", chunks: ["Hel", "lo"] });

      const { text, failure } = await readStream(h, target.model);

      expect(text).toBe("Hello");
      expect(failure).toBeInstanceOf(APIError);
      expect((failure as APIError).message).toBe(
        `Stream interrupted: ${target.provider}: stream idle for more than 0.2 s between chunks`,
      );
      expect(upstreamErrors).toMatchObject([{ provider: target.provider, type: "upstream" }]);
      expect(circuit).toEqual([{ provider: target.provider, state: "open" }]);
    });

    it(`scrubs the ${target.provider} key from an upstream error event before the client and the logs`, async () => {
      // Not key-shaped, so only the scrub of the key in use can catch it.
      const key = `opaque-${target.provider}-credential-7f3a9c`;
      h = await startHarness({
        env: { AI_PROVIDER: target.provider, AI_MODEL: target.model, [target.keyVariable]: key },
      });
      h.fakes[target.provider].script({
        kind: "stream_error",
        chunks: ["Hel", "lo"],
        message: `Incorrect API key provided: ${key}. Also tried sk-proj-abcdefghijklmnop.`,
      });

      const { text, failure } = await readStream(h, target.model);

      expect(text).toBe("Hello");
      expect(failure).toBeInstanceOf(APIError);
      const message = (failure as APIError).message;
      expect(message).toBe(
        `Stream interrupted: ${target.provider}: stream error: Incorrect API key provided: [redacted]. Also tried [redacted].`,
      );
      expect(h.fakes[target.provider].chatRequests()[0]?.apiKey).toBe(key);
      const logged = h.deps.logs.lines.join("\n");
      expect(logged).toContain("stream failed after its first chunk");
      expect(logged).not.toContain(key);
      expect(logged).not.toContain("sk-proj-abcdefghijklmnop");
    });
  }
});
