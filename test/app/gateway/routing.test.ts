import { describe, expect, it } from "vitest";
import { Router } from "../../../app/gateway/routing";
import { testConfig } from "../../helpers/deps";

const base = testConfig({
  AI_PROVIDER: "openai",
  AI_MODEL: "gpt-4o",
  AI_FALLBACK_PROVIDERS: "claude,gemini/gemini-1.5-pro",
});
const withRoutes = {
  ...base,
  file: {
    ...base.file,
    routes: {
      smart: {
        strategy: "weighted" as const,
        targets: [
          { provider: "openai" as const, model: "gpt-4o", weight: 3 },
          { provider: "claude" as const, model: "claude-3-5-sonnet-latest", weight: 1 },
        ],
      },
    },
  },
};

describe("Router", () => {
  it("sends a plain name to the primary provider, then the fallbacks", () => {
    expect(new Router().resolve("gpt-4o-mini", base).targets).toEqual([
      { provider: "openai", model: "gpt-4o-mini" },
      { provider: "claude", model: "claude-3-5-haiku-latest" },
      { provider: "gemini", model: "gemini-1.5-pro" },
    ]);
  });

  it("sends <provider>/<model> there first, without repeating a fallback already tried", () => {
    expect(new Router().resolve("gemini/gemini-1.5-pro", base).targets).toEqual([
      { provider: "gemini", model: "gemini-1.5-pro" },
      { provider: "claude", model: "claude-3-5-haiku-latest" },
    ]);
  });

  it("puts a weighted alias's pick first and keeps the others as failovers", () => {
    expect(new Router(() => 0.5).resolve("smart", withRoutes).targets.map((t) => t.provider)).toEqual([
      "openai",
      "claude",
    ]);
    expect(new Router(() => 0.8).resolve("smart", withRoutes).targets.map((t) => t.provider)).toEqual([
      "claude",
      "openai",
    ]);
  });

  it("fails when the prefix is not a provider", () => {
    expect(() => new Router().resolve("mistral/large", withRoutes)).toThrow(
      'Unknown model "mistral/large": "mistral" is not a provider (use one of openai, claude, gemini, groq, ollama, or a routed alias: smart)',
    );
  });
});
