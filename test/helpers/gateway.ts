import OpenAI from "openai";
import type { ResilienceClock } from "../../app/resilience/clock";
import type { AppDeps } from "../../app/server";
import { createApp } from "../../app/server";
import { type FakeUpstream, startAnthropicFake, startGeminiFake, startOpenAIFake } from "../fakes";
import type { FakeOptions } from "../fakes/_fake-server";
import { ManualClock } from "./clock";
import { fileDataDir } from "./data-dir";
import { type LogCapture, testDeps } from "./deps";
import { type Listening, listen } from "./http";

/** A gateway wired to one fake per provider, and an OpenAI SDK client pointed at it. */
export interface GatewayHarness {
  readonly url: string;
  readonly client: OpenAI;
  readonly fakes: {
    openai: FakeUpstream;
    claude: FakeUpstream;
    gemini: FakeUpstream;
    groq: FakeUpstream;
    ollama: FakeUpstream;
  };
  readonly deps: AppDeps & { logs: LogCapture };
  readonly clock: ResilienceClock;
  /** The variables the config was loaded from (fake URLs included), for reloaders. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** Extra or overriding variables; the defaults route to openai/gpt-4o with no fallbacks and no retries. */
  readonly env?: Record<string, string>;
  readonly clock?: ResilienceClock;
  readonly fakeOptions?: Partial<Record<"openai" | "claude" | "gemini" | "groq" | "ollama", FakeOptions>>;
}

/** Starts the fakes, then the gateway on an ephemeral port. */
export async function startHarness(options: HarnessOptions = {}): Promise<GatewayHarness> {
  const fo = options.fakeOptions ?? {};
  const [openai, claude, gemini, groq, ollama] = await Promise.all([
    startOpenAIFake(fo.openai),
    startAnthropicFake(fo.claude),
    startGeminiFake(fo.gemini),
    startOpenAIFake(fo.groq),
    startOpenAIFake(fo.ollama),
  ]);
  const env = {
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    AI_TIMEOUT_SECONDS: "5",
    OPENAI_API_KEY: "sk-test-openai-1",
    CLAUDE_API_KEY: "sk-ant-test-1",
    GEMINI_API_KEY: "gemini-test-1",
    GROQ_API_KEY: "gsk-test-1",
    OPENAI_BASE_URL: `${openai.origin}/v1`,
    CLAUDE_BASE_URL: claude.origin,
    GEMINI_BASE_URL: gemini.origin,
    GROQ_BASE_URL: `${groq.origin}/openai/v1`,
    OLLAMA_BASE_URL: ollama.origin,
    ...options.env,
  };
  const clock = options.clock ?? new ManualClock();
  const deps = testDeps(env, {}, { clock });
  const gateway = deps.gateway;
  const server: Listening = await listen(createApp(deps));
  const client = new OpenAI({
    apiKey: "client-key",
    baseURL: `${server.url}/v1`,
    maxRetries: 0,
    timeout: 20_000,
  });
  return {
    url: server.url,
    client,
    fakes: { openai, claude, gemini, groq, ollama },
    deps,
    clock,
    env: { ENVIRONMENT: "development", DATA_DIR: fileDataDir(), ...env },
    async close() {
      await server.close();
      await gateway.close();
      await Promise.all([openai, claude, gemini, groq, ollama].map((fake) => fake.close()));
    },
  };
}
