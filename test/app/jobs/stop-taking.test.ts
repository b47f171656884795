import { afterEach, describe, expect, it, vi } from "vitest";
import { BullJobQueue } from "../../../app/jobs/bullmq-queue";
import { chat, standInComplete } from "../../helpers/complete";
import { testDeps } from "../../helpers/deps";
import { deleteKeys, REDIS_URL, uniquePrefix } from "../../helpers/real-services";

// At SIGTERM the worker stops picking up jobs at once (the ops wiring calls
// stopTaking when shutdown begins), while the running job finishes and submit
// and poll keep answering during the HTTP drain.
describe("BullJobQueue.stopTaking", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("lets the running job finish, picks up no new one, and keeps submit and poll working", async () => {
    const stand = standInComplete();
    const prefix = uniquePrefix("jobs-stop");
    const jobs = new BullJobQueue({
      complete: stand.complete,
      logger: testDeps().logger,
      clock: { now: () => Date.now() },
      redisUrl: REDIS_URL,
      prefix,
      concurrency: 1,
    });
    cleanups.push(
      () => deleteKeys(prefix),
      () => jobs.close(0),
    );
    stand.hold();
    const running = await jobs.submit({ request: chat("first"), tenant: "t" });
    await vi.waitFor(() => expect(stand.calls).toHaveLength(1), { timeout: 10_000 });

    jobs.stopTaking();
    const queued = await jobs.submit({ request: chat("second"), tenant: "t" });
    stand.release();
    await vi.waitFor(async () => expect((await jobs.get(running, "t"))?.status).toBe("completed"), {
      timeout: 10_000,
    });
    // Still queued for the slot's other replicas, never started here.
    expect((await jobs.get(queued, "t"))?.status).toBe("processing");
    expect(stand.calls).toHaveLength(1);
  }, 30_000);
});
