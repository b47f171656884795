// Two Redis roles and a password that never reaches redis-server's argv.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { REDIS_SERVER_LAUNCH, RedisCache } from "../../constructs/kubernetes/redis-cache";
import { ENVIRONMENTS } from "../../stacks/environments";
import { EnvironmentStack } from "../../stacks/main";
import { tempDir, uniqueId } from "../helpers/real-services";
import { type Body, container, named, type Synthesized, synth } from "../helpers/synth";

describe("RedisCache launch (real redis-server)", () => {
  const dir = tempDir();
  let server: ChildProcess | undefined;
  afterAll(async () => {
    // redis-server saves its snapshot into dir on SIGTERM: removing dir before
    // it has exited raced with that write (ENOTEMPTY failed the file in a full run).
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((done) => server?.once("exit", done));
      server.kill("SIGTERM");
      await exited;
    }
    dir.cleanup();
  });

  it("starts with the password from the environment, absent from the process arguments", async () => {
    const password = `launch-${uniqueId()}-Secret`;
    const socket = join(dir.dir, "redis.sock");
    const { json } = synth((scope) => {
      new RedisCache(scope, "Cache", { namespace: "ai" });
    });
    const main = container(named(json, "kubernetes_stateful_set_v1", "ai-redis"));
    expect(main["command"]).toEqual(["sh", "-c", REDIS_SERVER_LAUNCH, "redis-server"]);
    const args = (main["args"] as string[]).map((arg) => (arg === "/data" ? dir.dir : arg));
    expect(args.join(" ")).not.toMatch(/requirepass|REDIS_PASSWORD/);
    // The container's own command, on a unix socket instead of port 6379 (no fixed ports in tests).
    server = spawn(
      "sh",
      ["-c", REDIS_SERVER_LAUNCH, "redis-server", ...args, "--port", "0", "--unixsocket", socket],
      { env: { PATH: process.env["PATH"] ?? "", REDIS_PASSWORD: password }, stdio: "ignore" },
    );
    for (let attempt = 0; attempt < 200 && !existsSync(socket); attempt++) {
      await new Promise((done) => setTimeout(done, 50));
    }
    const anonymous = new Redis({
      path: socket,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    await anonymous.connect();
    await expect(anonymous.set("k", "v")).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    const client = new Redis({ path: socket, password, lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe("PONG");
    // The dangerous commands are still renamed away.
    await expect(client.call("FLUSHALL")).rejects.toThrow(/unknown command/);
    client.disconnect();
    // exec: redis-server is the process the shell started as, and its argv holds no password.
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8");
    expect(cmdline).toContain("redis-server");
    expect(cmdline).not.toContain(password);
  });
});

describe("two Redis roles", () => {
  it("gives the response cache an allkeys-lru instance and keeps the queue's noeviction", () => {
    const { json } = synth((scope) => {
      const queue = new RedisCache(scope, "Queue", { namespace: "ai" });
      const cache = new RedisCache(scope, "ResponseCache", {
        namespace: "ai",
        name: "ai-redis-cache",
        maxmemoryPolicy: "allkeys-lru",
      });
      new AiGatewayService(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        image: "ghcr.io/example/ai-gateway:1.0.0",
        cache: queue,
        responseCache: cache,
      });
    });
    const policy = (name: string) => {
      const args = container(named(json, "kubernetes_stateful_set_v1", name))["args"] as string[];
      return args[args.indexOf("--maxmemory-policy") + 1];
    };
    expect(policy("ai-redis")).toBe("noeviction");
    expect(policy("ai-redis-cache")).toBe("allkeys-lru");
    const gateway = container(Object.values(json.resource?.["kubernetes_deployment_v1"] ?? {})[0]!);
    expect(gateway["env"]).toContainEqual({
      name: "REDIS_CACHE_URL",
      value: "redis://:$(REDIS_CACHE_PASSWORD)@ai-redis-cache.ai.svc.cluster.local:6379",
    });
    expect(gateway["env"]).toContainEqual({
      name: "REDIS_URL",
      value: "redis://:$(REDIS_PASSWORD)@ai-redis.ai.svc.cluster.local:6379",
    });
  });

  it.each(["staging", "production"] as const)("runs both instances in %s", (name) => {
    const stack = new EnvironmentStack(Testing.app(), name, { environment: ENVIRONMENTS[name] });
    const json = JSON.parse(Testing.synth(stack)) as Synthesized;
    const policies = Object.values(json.resource?.["kubernetes_stateful_set_v1"] ?? {})
      .filter((body) => ((body["metadata"] as Body)["name"] as string).startsWith("ai-redis"))
      .map((body) => {
        const args = container(body)["args"] as string[];
        return [(body["metadata"] as Body)["name"], args[args.indexOf("--maxmemory-policy") + 1]];
      })
      .sort();
    expect(policies).toEqual([
      ["ai-redis", "noeviction"],
      ["ai-redis-cache", "allkeys-lru"],
    ]);
  });

  it("fails when the snapshot schedule is not <seconds> <changes> pairs", () => {
    expect(() =>
      synth((scope) => {
        new RedisCache(scope, "Cache", { snapshotSchedule: "hourly" });
      }),
    ).toThrow(
      'RedisCache: snapshotSchedule ("hourly") must be "<seconds> <changes>" pairs, for example "3600 1 300 100"',
    );
  });
});
