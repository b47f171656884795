import { afterEach, describe, expect, it } from "vitest";
import { gatewayComplete } from "../../../app/jobs/gateway-complete";
import { type GatewayHarness, startHarness } from "../../helpers/gateway";

const ctx = { requestId: "job-limits", tenant: "t" };
const clock = { now: () => Date.now() };

describe("jobs and batch completion (gatewayComplete)", () => {
  let h: GatewayHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("fails when the prompt is over the default 50,000 characters with the same 413 as chat", async () => {
    h = await startHarness();
    const complete = gatewayComplete(h.deps.gateway, h.deps.config, clock);
    const body = { model: "gpt-4o", messages: [{ role: "user", content: "y".repeat(50_001) }] };
    await expect(complete(body, ctx)).rejects.toMatchObject({
      status: 413,
      message: "Prompt too large: 50001 characters (the limit is 50000)",
      type: "request_too_large",
      code: "prompt_too_large",
    });
    expect(h.fakes.openai.chatRequests()).toHaveLength(0);
  });

  it("fails when there are too many messages with the same 400 as chat, from the limits in force", async () => {
    h = await startHarness();
    const config = h.deps.config.get();
    h.deps.config.set({ ...config, file: { ...config.file, limits: { maxMessages: 3 } } });
    const complete = gatewayComplete(h.deps.gateway, h.deps.config, clock);
    const body = {
      model: "gpt-4o",
      messages: Array.from({ length: 4 }, () => ({ role: "user", content: "a" })),
    };
    await expect(complete(body, ctx)).rejects.toMatchObject({
      status: 400,
      message: "Too many messages: 4 (the limit is 3)",
      type: "invalid_request_error",
      code: "too_many_messages",
    });
    expect(h.fakes.openai.chatRequests()).toHaveLength(0);
  });
});
