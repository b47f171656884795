import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../app/config/load-config";
import { runJob } from "../../../app/jobs/run-job";
import {
  callbackAllowList,
  callbackRefusal,
  parseCallbackAllowList,
} from "../../../app/security/callback-guard";
import { testDeps } from "../../helpers/deps";

const none = callbackAllowList([]);
const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses;

describe("job callback SSRF guard", () => {
  it("refuses loopback, private, link-local (cloud metadata), unique-local and unspecified hosts by default", async () => {
    const cases: [string, string][] = [
      ["http://127.0.0.1:9/done", "callbackUrl host 127.0.0.1 is a loopback address"],
      ["http://[::1]/done", "callbackUrl host ::1 is a loopback address"],
      ["http://[::ffff:127.0.0.1]/", "callbackUrl host ::ffff:7f00:1 is a loopback address"],
      ["http://2130706433/", "callbackUrl host 127.0.0.1 is a loopback address"],
      ["http://10.1.2.3/", "callbackUrl host 10.1.2.3 is a private address"],
      ["http://172.20.0.1/", "callbackUrl host 172.20.0.1 is a private address"],
      ["https://192.168.1.1/", "callbackUrl host 192.168.1.1 is a private address"],
      [
        "http://169.254.169.254/latest/meta-data/",
        "callbackUrl host 169.254.169.254 is a link-local address",
      ],
      ["http://[fe80::1]/", "callbackUrl host fe80::1 is a link-local address"],
      ["http://[fd00:ec2::254]/", "callbackUrl host fd00:ec2::254 is a unique-local address"],
      ["http://0.0.0.0/", "callbackUrl host 0.0.0.0 is an unspecified address"],
    ];
    for (const [url, reason] of cases) {
      expect(await callbackRefusal(url, none), url).toBe(`${reason}; allow it with AI_CALLBACK_ALLOW_HOSTS`);
    }
    expect(await callbackRefusal("https://93.184.216.34/hook", none)).toBeUndefined();
  });

  it("resolves host names and refuses one with any internal address", async () => {
    expect(await callbackRefusal("https://metadata.test/", none, resolvesTo("169.254.169.254"))).toBe(
      "callbackUrl host metadata.test resolves to 169.254.169.254, a link-local address; allow it with AI_CALLBACK_ALLOW_HOSTS",
    );
    expect(await callbackRefusal("https://mixed.test/", none, resolvesTo("93.184.216.34", "10.0.0.7"))).toBe(
      "callbackUrl host mixed.test resolves to 10.0.0.7, a private address; allow it with AI_CALLBACK_ALLOW_HOSTS",
    );
    expect(await callbackRefusal("https://public.test/", none, resolvesTo("93.184.216.34"))).toBeUndefined();
    const missing = async () => {
      throw new Error("ENOTFOUND");
    };
    expect(await callbackRefusal("https://nowhere.test/", none, missing)).toBe(
      "callbackUrl host nowhere.test does not resolve",
    );
  });

  it("allows internal hosts named by host, address or CIDR range in the allowlist", async () => {
    const allow = callbackAllowList(["127.0.0.1", "hooks.internal", "10.0.0.0/8", "[fd00::1]"]);
    expect(await callbackRefusal("http://127.0.0.1:8080/", allow)).toBeUndefined();
    expect(await callbackRefusal("http://hooks.internal/", allow, resolvesTo("192.168.0.9"))).toBeUndefined();
    expect(await callbackRefusal("http://10.200.0.1/", allow)).toBeUndefined();
    expect(await callbackRefusal("http://[fd00::1]/", allow)).toBeUndefined();
    expect(await callbackRefusal("http://127.0.0.2/", allow)).toBe(
      "callbackUrl host 127.0.0.2 is a loopback address; allow it with AI_CALLBACK_ALLOW_HOSTS",
    );
  });

  it("fails when AI_CALLBACK_ALLOW_HOSTS has an entry that is not a host, address or CIDR range", () => {
    expect(parseCallbackAllowList(["ok.internal", "::1", "fd00::/8"]).problems).toEqual([]);
    expect(() =>
      loadConfig({
        ENVIRONMENT: "development",
        AI_CALLBACK_ALLOW_HOSTS: "127.0.0.1, bad host!, 10.0.0.0/33",
      }),
    ).toThrow(
      [
        "Invalid configuration (2 problems):",
        '  - AI_CALLBACK_ALLOW_HOSTS: "bad host!" is not a host name, IP address or CIDR range',
        '  - AI_CALLBACK_ALLOW_HOSTS: "10.0.0.0/33" is not a valid CIDR range; expected for example 10.0.0.0/8 or fd00::/8',
      ].join("\n"),
    );
    expect(loadConfig({ AI_CALLBACK_ALLOW_HOSTS: "127.0.0.1,localhost" }).callbackAllowHosts).toEqual([
      "127.0.0.1",
      "localhost",
    ]);
  });

  it("checks again at delivery: a host that now resolves to an internal address gets no callback", async () => {
    const deps = testDeps();
    const fetchSpy = vi.fn(async () => new Response(null, { status: 204 }));
    const job = {
      request: { model: "m", messages: [] },
      tenant: "t",
      callbackUrl: "https://rebound.test/hook",
    };
    const options = {
      complete: async () => ({ object: "chat.completion" }),
      logger: deps.logger,
      fetch: fetchSpy as unknown as typeof fetch,
      callbackLookup: resolvesTo("127.0.0.1"),
    };
    await runJob(options, "job-rebound", job);
    expect(fetchSpy).not.toHaveBeenCalled();
    const line = deps.logs.records().find((record) => record["msg"] === "job callback not sent");
    expect(line?.["reason"]).toBe(
      "callbackUrl host rebound.test resolves to 127.0.0.1, a loopback address; allow it with AI_CALLBACK_ALLOW_HOSTS",
    );

    await runJob({ ...options, callbackLookup: resolvesTo("93.184.216.34") }, "job-public", job);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    await runJob({ ...options, callbackAllowHosts: ["127.0.0.1"] }, "job-allowed", job);
    expect(fetchSpy).toHaveBeenCalledTimes(2);
  });

  it("refuses the connection itself when the host re-resolves to an internal address after the check (DNS rebinding)", async () => {
    const received: string[] = [];
    const hook = createServer((req, res) => {
      received.push(String(req.url));
      res.end();
    });
    hook.listen(0, "127.0.0.1");
    await once(hook, "listening");
    try {
      const deps = testDeps();
      const callbackUrl = `http://localhost:${(hook.address() as AddressInfo).port}/hook`;
      const job = { request: { model: "m", messages: [] }, tenant: "t", callbackUrl };
      const options = {
        complete: async () => ({ object: "chat.completion" }),
        logger: deps.logger,
        // The check sees a public address; the connection's own lookup then finds loopback.
        callbackLookup: resolvesTo("93.184.216.34"),
      };
      await runJob(options, "job-rebind", job);
      expect(received).toEqual([]);
      const failed = deps.logs.records().find((record) => record["msg"] === "job callback failed");
      expect((failed?.["err"] as { cause?: string } | undefined)?.cause).toMatch(
        /^callbackUrl host localhost resolves to (127\.0\.0\.1|::1), a loopback address; allow it with AI_CALLBACK_ALLOW_HOSTS$/,
      );

      await runJob({ ...options, callbackAllowHosts: ["localhost"] }, "job-allowed", job);
      expect(received).toEqual(["/hook"]);
    } finally {
      hook.closeAllConnections();
      hook.close();
    }
  });
});
