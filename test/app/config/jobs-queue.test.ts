import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../app/config/load-config";

describe("AI_JOBS_QUEUE and AI_JOBS_POLL_QUEUES (per-slot job queues)", () => {
  it("defaults to the one shared queue and no other", () => {
    expect(loadConfig({})).toMatchObject({ jobsQueue: "ai-gateway-jobs", jobsPollQueues: [] });
  });

  it("reads a slot's own queue and the queues its polls also look in", () => {
    expect(
      loadConfig({ AI_JOBS_QUEUE: "ai-gateway-jobs-blue", AI_JOBS_POLL_QUEUES: " ai-gateway-jobs-green , " }),
    ).toMatchObject({ jobsQueue: "ai-gateway-jobs-blue", jobsPollQueues: ["ai-gateway-jobs-green"] });
  });

  it("fails when a queue name is not one BullMQ name", () => {
    expect(() => loadConfig({ AI_JOBS_QUEUE: "a,b", AI_JOBS_POLL_QUEUES: "bull:jobs" })).toThrow(
      new ConfigError([
        "AI_JOBS_QUEUE: names one queue, for example ai-gateway-jobs-blue",
        'AI_JOBS_POLL_QUEUES: "bull:jobs" is not allowed; expected queue names of letters, digits, - and _',
      ]),
    );
  });
});
