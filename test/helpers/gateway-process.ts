import type { ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { createInterface } from "node:readline";
import { fakeEnv, type VendorFakes } from "./ledger-gateway";
import { DATABASE_URL } from "./real-services";

/**
 * The environment of a gateway process on an ephemeral loopback port, in front
 * of the fakes, with its ledger in `schema` (through the connection's
 * search_path) and its files under `dataDir`.
 */
export function gatewayProcessEnv(fakes: VendorFakes, schema: string, dataDir: string): NodeJS.ProcessEnv {
  const url = new URL(DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    PATH: process.env["PATH"] ?? "",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    DATA_DIR: dataDir,
    DATABASE_URL: url.toString(),
    AI_CACHE_ENABLED: "false",
    ...fakeEnv(fakes),
  };
}

/** Every log line of a gateway process, parsed; `listening` resolves with the port from "gateway listening". */
export function watchLogs(process: ChildProcess): {
  records: Array<Record<string, unknown>>;
  listening: Promise<number>;
} {
  const records: Array<Record<string, unknown>> = [];
  const listening = new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: process.stdout! });
    lines.on("line", (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      if (record["msg"] === "gateway listening") resolve(record["port"] as number);
    });
    lines.on("close", () => reject(new Error("gateway exited before listening")));
  });
  return { records, listening };
}

/**
 * POSTs a chat request on a connection of its own (no keep-alive); resolves
 * with the status once the body is read, or 0 when the connection died.
 */
export function postChat(port: number, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/chat/completions",
        agent: false,
        headers: { "content-type": "application/json", ...headers },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", () => resolve(0));
      },
    );
    request.on("error", () => resolve(0));
    request.end(JSON.stringify(body));
  });
}
