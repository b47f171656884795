import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FakeUpstream, startOpenAIFake } from "../../fakes";
import { ensureBuilt, startBuiltGateway } from "../../helpers/built";
import { seedLedger } from "../../helpers/data-dir";
import { DATABASE_URL, pgSchema, REDIS_URL, tempDir, uniqueId } from "../../helpers/real-services";

// Two slots of one environment as the construct deploys them: the same Redis
// and Postgres, each slot working its own queue (AI_JOBS_QUEUE) and polling the
// other's (AI_JOBS_POLL_QUEUES). Each process calls its own fake upstream, so an
// upstream call shows which slot ran a job.
const id = uniqueId();
const queue = (slot: string) => `test-jobs-${id}-${slot}`;
const { schema, cleanup: dropSchema } = pgSchema();
const children: ChildProcess[] = [];
const dirs: (() => void)[] = [];
let sql: Client;

async function startSlot(slot: "blue" | "green", upstream: FakeUpstream): Promise<string> {
  const other = slot === "blue" ? "green" : "blue";
  const data = tempDir();
  dirs.push(data.cleanup);
  const url = new URL(DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const gateway = await startBuiltGateway({
    DATA_DIR: seedLedger(data.dir),
    REDIS_URL,
    DATABASE_URL: url.toString(),
    AI_CACHE_ENABLED: "false",
    AI_PROVIDER: "openai",
    AI_MODEL: "gpt-4o",
    AI_MAX_RETRIES: "0",
    OPENAI_API_KEY: `sk-test-${slot}`,
    OPENAI_BASE_URL: `${upstream.origin}/v1`,
    AI_JOBS_QUEUE: queue(slot),
    AI_JOBS_POLL_QUEUES: queue(other),
  });
  children.push(gateway.child);
  return gateway.url;
}

let live: FakeUpstream;
let idle: FakeUpstream;
let liveUrl = "";
let idleUrl = "";

beforeAll(async () => {
  ensureBuilt("dist/app/server.js", "scripts/bundle.mjs", ["app", "scripts"]);
  sql = new Client({ connectionString: DATABASE_URL });
  await sql.connect();
  await sql.query(`CREATE SCHEMA ${schema}`);
  [live, idle] = await Promise.all([startOpenAIFake(), startOpenAIFake()]);
  [liveUrl, idleUrl] = await Promise.all([startSlot("blue", live), startSlot("green", idle)]);
});

afterAll(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }),
  );
  await Promise.all([live?.close(), idle?.close()]);
  await sql?.end();
  await dropSchema();
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `bull:test-jobs-${id}-*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  for (const cleanup of dirs) cleanup();
});

const submit = async (base: string, content: string) => {
  const response = await fetch(`${base}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content }] }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
};
const poll = async (base: string, jobId: string) =>
  (await (await fetch(`${base}/v1/jobs/${jobId}`)).json()) as {
    status: string;
    response?: { choices: { message: { content: string } }[] };
  };

describe("blue-green slot isolation of async jobs (two real processes sharing Redis and Postgres)", () => {
  it("the idle slot makes no upstream call for jobs submitted to the live slot, and polls them across a flip", async () => {
    const count = 6;
    live.script(
      ...Array.from({ length: count }, (_, index) => ({ kind: "answer" as const, text: `live ${index}` })),
    );
    const ids: string[] = [];
    for (let index = 0; index < count; index++) ids.push(await submit(liveUrl, `job ${index}`));
    // Polled through the other slot, as after a flip: every job is found and completes.
    await vi.waitFor(
      async () => {
        for (const jobId of ids) expect((await poll(idleUrl, jobId)).status).toBe("completed");
      },
      { timeout: 60_000, interval: 200 },
    );
    const answers = await Promise.all(ids.map(async (jobId) => (await poll(idleUrl, jobId)).response));
    expect(answers.map((answer) => answer?.choices[0]?.message.content).sort()).toEqual(
      Array.from({ length: count }, (_, index) => `live ${index}`).sort(),
    );
    expect(live.chatRequests()).toHaveLength(count);
    expect(idle.chatRequests()).toHaveLength(0);
    // The live slot billed them in the one shared ledger.
    await vi.waitFor(async () => {
      const rows = await sql.query(`SELECT count(*)::int AS n FROM ${schema}.ledger_requests`);
      expect(rows.rows[0].n).toBe(count);
    });
  });

  it("a job submitted to the preview slot (a smoke test) runs there, never on the live slot", async () => {
    idle.script({ kind: "answer", text: "from the preview slot" });
    const before = live.chatRequests().length;
    const jobId = await submit(idleUrl, "smoke");
    await vi.waitFor(async () => expect((await poll(liveUrl, jobId)).status).toBe("completed"), {
      timeout: 30_000,
      interval: 200,
    });
    expect((await poll(liveUrl, jobId)).response?.choices[0]?.message.content).toBe("from the preview slot");
    expect(live.chatRequests()).toHaveLength(before);
    expect(idle.chatRequests()).toHaveLength(1);
  });
});
