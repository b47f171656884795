import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { openAIFormat } from "../test/fakes";

// The upstream of the pipeline bench: OpenAI's chat-completions wire format
// (bodies and SSE frames from test/fakes' openAIFormat) in a process of its own,
// so its CPU never counts as the gateway's. Unlike FakeUpstream it records
// nothing (a bench sends hundreds of thousands of requests) and is not
// scripted: `max_tokens` sets how many words (stream chunks) the answer has,
// so one fake serves the short and the long streams the bench compares.

const WORD = "lorem ";
let counter = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    let body: { model?: string; stream?: boolean; max_tokens?: number; messages?: unknown[] } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
    } catch {
      // An empty or broken body answers the vendor's 400 below.
    }
    const operation = openAIFormat.operation(req.method ?? "GET", req.url ?? "/", body);
    if (operation?.op !== "chat" || !Array.isArray(body.messages)) {
      const text = JSON.stringify(openAIFormat.errorBody(400, "Invalid request"));
      res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const words = Math.max(1, Math.min(1000, Number(body.max_tokens) || 9));
    const promptCharacters = JSON.stringify(body.messages).length;
    const usage = { input: Math.ceil(promptCharacters / 4), output: words };
    const id = `bench-${++counter}`;
    if (!operation.stream) {
      const text = JSON.stringify(
        openAIFormat.completion({ model: operation.model, text: WORD.repeat(words).trimEnd(), usage, id }),
      );
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const frames = openAIFormat.streamFrames({
      model: operation.model,
      chunks: Array.from({ length: words }, () => WORD),
      usage,
      id,
      complete: true,
    });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    // One write per frame, as a vendor streams them (the gateway sees separate chunks when it keeps up).
    for (const frame of frames) res.write(frame);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("message", (message) => {
  if (message === "exit") server.close(() => process.exit(0));
});
process.on("disconnect", () => process.exit(0));
