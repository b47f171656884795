import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createAlertSink } from "../../../app/observability/alerts";

async function receiver() {
  const bodies: unknown[] = [];
  const waiting: (() => void)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      bodies.push(JSON.parse(text));
      res.end("ok");
      waiting.shift()?.();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    bodies,
    next: () => new Promise<void>((resolve) => waiting.push(resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("createAlertSink", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("reads the webhook URL at every send, so a config reload that sets or changes it applies", async () => {
    const first = await receiver();
    const second = await receiver();
    closers.push(first.close, second.close);
    let url: string | undefined;
    const alert = createAlertSink({ logger: pino({ level: "silent" }), webhookUrl: () => url });

    alert({ source: "breaker", severity: "warning", message: "before any URL" });
    url = first.url;
    const atFirst = first.next();
    alert({ source: "breaker", severity: "warning", message: "to the first" });
    await atFirst;
    url = second.url;
    const atSecond = second.next();
    alert({ source: "auth", severity: "critical", message: "to the second" });
    await atSecond;

    expect(first.bodies).toEqual([
      expect.objectContaining({ source: "breaker", message: "to the first", service: "ai-gateway" }),
    ]);
    expect(second.bodies).toEqual([
      expect.objectContaining({ source: "auth", severity: "critical", message: "to the second" }),
    ]);
  });
});
