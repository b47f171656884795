import { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, REDACT_PATHS } from "../../../app/observability/logger";
import { LogCapture } from "../../helpers/deps";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const CANARIES = {
  OPENAI_API_KEY: "sk-canary-openai-0001",
  CLAUDE_API_KEY: "sk-ant-canary-claude-0002",
  GEMINI_API_KEY: "AIzaCanaryGemini0003",
  GROQ_API_KEY: "gsk_canary_groq_0004",
};

function expectNoCanary(text: string): void {
  for (const canary of Object.values(CANARIES)) expect(text).not.toContain(canary);
  expect(text).not.toMatch(/canary/i);
}

describe("logger redaction", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("uses fixed paths only, so no line pays for a walk over every key", () => {
    expect(REDACT_PATHS.filter((path) => path.includes("*"))).toEqual([]);
  });

  it("censors keys and authorization headers at every listed path", () => {
    const logs = new LogCapture();
    const logger = createLogger({ destination: logs });
    logger.info(
      {
        apiKey: CANARIES.OPENAI_API_KEY,
        apiKeys: [CANARIES.CLAUDE_API_KEY],
        api_key: CANARIES.GEMINI_API_KEY,
        authorization: `Bearer ${CANARIES.GROQ_API_KEY}`,
        password: "canary-password",
        headers: { authorization: "Bearer canary-1", "x-api-key": "canary-2", "x-goog-api-key": "canary-3" },
        req: {
          headers: {
            authorization: "Bearer canary-4",
            cookie: "session=canary-5",
            "x-api-key": "canary-6",
            "api-key": "canary-7",
            "x-goog-api-key": "canary-8",
          },
        },
        config: { gatewayApiKeys: ["canary-9"] },
      },
      "line with every secret",
    );
    expectNoCanary(logs.lines.join("\n"));
    expect(logs.records()[0]).toMatchObject({
      apiKey: "[redacted]",
      authorization: "[redacted]",
      headers: { authorization: "[redacted]" },
      req: { headers: { authorization: "[redacted]" } },
    });
  });

  it("keeps every key out of the log lines and the client's error when every provider fails", async () => {
    h = await startHarness({
      env: { ...CANARIES, AI_FALLBACK_PROVIDERS: "claude,gemini,groq" },
    });
    h.fakes.openai.script({
      kind: "error",
      status: 401,
      message: `Incorrect API key: ${CANARIES.OPENAI_API_KEY}`,
    });
    h.fakes.claude.script({ kind: "error", status: 500, message: `bad key ${CANARIES.CLAUDE_API_KEY}` });
    h.fakes.gemini.script({ kind: "rate_limit", retryAfter: "1" });
    h.fakes.groq.script({ kind: "malformed" }, { kind: "stream_dies", chunks: ["a", "b"] });

    const failure = await h.client.chat.completions
      .create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error);
    expect((failure as APIError).status).toBe(502);
    expectNoCanary((failure as APIError).message);

    const stream = await h.client.chat.completions.create({
      model: "groq/llama-3.1-8b-instant",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    const broken = await (async () => {
      for await (const _ of stream);
    })().catch((error: unknown) => error);
    expect(broken).toBeInstanceOf(APIError);

    const text = h.deps.logs.lines.join("\n");
    expect(text).toContain("rejected API key 1 of 1");
    expectNoCanary(text);
  });
});
