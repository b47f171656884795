import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import autocannon from "autocannon";
import { startOpenAIFake } from "../test/fakes";

// The gateway's own cost per request: the same fake OpenAI upstream called
// directly and through the gateway (in a child process, logging on), at 1 and
// 50 connections, non-streaming and streaming. Reports req/s, p50/p99 and the
// gateway's CPU microseconds per request (its process.cpuUsage() delta / requests).
// BENCH_SECONDS sets the duration of each run (default 5).

const seconds = Number(process.env["BENCH_SECONDS"] ?? 5);

interface Row {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest?: number;
  non2xx: number;
  errors: number;
}

async function run(url: string, connections: number, body: string): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    duration: seconds,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
    body,
  });
}

function request(message: "cpu", child: ChildProcess): Promise<NodeJS.CpuUsage> {
  return new Promise((resolve) => {
    const onMessage = (reply: unknown) => {
      if (typeof reply === "object" && reply !== null && "cpu" in reply) {
        child.off("message", onMessage);
        resolve((reply as { cpu: NodeJS.CpuUsage }).cpu);
      }
    };
    child.on("message", onMessage);
    child.send(message);
  });
}

async function startChild(mode: string, upstream: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(__dirname, "_gateway-child.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, BENCH_UPSTREAM: upstream, BENCH_MODE: mode },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [ready] = (await once(child, "message")) as [{ port: number }];
  return { child, url: `http://127.0.0.1:${ready.port}/v1/chat/completions` };
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.send("exit");
  await once(child, "exit");
}

async function measure(
  label: string,
  child: ChildProcess,
  url: string,
  connections: number,
  body: string,
): Promise<Row> {
  const before = await request("cpu", child);
  const result = await run(url, connections, body);
  const after = await request("cpu", child);
  const cpu = after.user - before.user + (after.system - before.system);
  return {
    label,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUsPerRequest: Math.round(cpu / Math.max(1, result.requests.total)),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  const fake = await startOpenAIFake({
    defaultStep: { kind: "answer", text: "The quick brown fox jumps over the lazy dog." },
  });
  const rows: Row[] = [];
  const plainBody = JSON.stringify({
    model: "gpt-4o",
    messages: [{ role: "user", content: "Say something short." }],
  });
  const references: Record<string, string> = {
    express: "reference: bare Express reply",
    forward: "reference: Express + undici Pool.request forward",
    fetch: "reference: Express + global fetch forward",
  };
  for (const mode of ["express", "forward", "fetch"]) {
    const reference = await startChild(mode, fake.origin);
    await autocannon({
      url: reference.url,
      connections: 10,
      amount: 2000,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: plainBody,
    });
    const label = references[mode];
    rows.push(await measure(`${label}, 50 conn`, reference.child, reference.url, 50, plainBody));
    await stopChild(reference.child);
  }
  const { child, url: gatewayUrl } = await startChild("gateway", fake.origin);
  const directUrl = `${fake.origin}/v1/chat/completions`;
  const messages = [{ role: "user", content: "Say something short." }];
  const plain = JSON.stringify({ model: "gpt-4o", messages });
  const streaming = JSON.stringify({ model: "gpt-4o", messages, stream: true });

  // Warm up JIT and pools.
  await autocannon({
    url: gatewayUrl,
    connections: 10,
    amount: 2000,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: plain,
  });

  for (const [mode, body] of [
    ["non-streaming", plain],
    ["streaming", streaming],
  ] as const) {
    for (const connections of [1, 50]) {
      const direct = await run(directUrl, connections, body);
      rows.push({
        label: `fake upstream directly, ${mode}, ${connections} conn`,
        rps: Math.round(direct.requests.average),
        p50: direct.latency.p50,
        p99: direct.latency.p99,
        non2xx: direct.non2xx,
        errors: direct.errors,
      });
      rows.push(
        await measure(
          `through the gateway, ${mode}, ${connections} conn`,
          child,
          gatewayUrl,
          connections,
          body,
        ),
      );
    }
  }

  console.log(`node ${process.version}, ${seconds} s per run, gateway logging at info into /dev/null`);
  console.log("| run | req/s | p50 ms | p99 ms | gateway CPU µs/req | non-2xx | errors |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.cpuUsPerRequest ?? "-"} | ${r.non2xx} | ${r.errors} |`,
    );
  }
  await stopChild(child);
  await fake.close();
}

void main();
