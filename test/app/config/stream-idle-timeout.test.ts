import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../app/config/load-config";

describe("AI_STREAM_IDLE_TIMEOUT_SECONDS", () => {
  it("defaults to 60 seconds, and takes fractions and 0 (disabled)", () => {
    expect(loadConfig({}).streamIdleTimeoutSeconds).toBe(60);
    expect(loadConfig({ AI_STREAM_IDLE_TIMEOUT_SECONDS: "0.5" }).streamIdleTimeoutSeconds).toBe(0.5);
    expect(loadConfig({ AI_STREAM_IDLE_TIMEOUT_SECONDS: "0" }).streamIdleTimeoutSeconds).toBe(0);
  });

  it("fails when it is not a number of seconds, saying what is allowed", () => {
    for (const value of ["-1", "soon"]) {
      let error: unknown;
      try {
        loadConfig({ AI_STREAM_IDLE_TIMEOUT_SECONDS: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        `AI_STREAM_IDLE_TIMEOUT_SECONDS: "${value}" is not allowed; expected a number of seconds, 0 or more (0 disables)`,
      ]);
    }
  });
});
