import type { AddressInfo } from "node:net";
import express from "express";
import { Pool } from "undici";

// The floor of the pipeline bench: Express parsing JSON and forwarding to the
// same upstream with an undici Pool, nothing else (no auth, limits, budget,
// cache, ledger, metrics or logging). What any Node gateway pays at least;
// the bench reports the gateway's figures as a ratio to this one's.
const upstream = process.env["BENCH_UPSTREAM"];
if (!upstream) throw new Error("BENCH_UPSTREAM is required");
const pool = new Pool(upstream, { connections: 256 });
const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.use(express.json({ limit: "1mb" }));

function forward(body: unknown) {
  return pool.request({
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json", authorization: "Bearer sk-bench-upstream" },
    body: JSON.stringify(body),
  });
}

app.post("/v1/chat/completions", async (req, res) => {
  const answer = await forward(req.body);
  res.status(answer.statusCode);
  res.setHeader("content-type", String(answer.headers["content-type"] ?? "application/json"));
  if ((req.body as { stream?: boolean }).stream === true) {
    res.flushHeaders();
    for await (const chunk of answer.body) res.write(chunk);
    res.end();
    return;
  }
  res.send(await answer.body.text());
});

// The batch route's floor: each item forwarded, five at a time, results in input order.
app.post("/v1/batch", async (req, res) => {
  const requests = (req.body as { requests?: unknown[] }).requests ?? [];
  const results: unknown[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const answer = await forward(requests[index]);
      results[index] = { success: answer.statusCode === 200, response: await answer.body.json() };
    }
  };
  await Promise.all(Array.from({ length: Math.min(5, requests.length) }, worker));
  res.json({ results });
});

const server = app.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 65_000;
process.on("message", (message) => {
  if (message === "exit") server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
