import "../helpers/cdktf-matchers";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Container } from "@cdktf/provider-docker/lib/container";
import { Image } from "@cdktf/provider-docker/lib/image";
import { Network } from "@cdktf/provider-docker/lib/network";
import { Volume } from "@cdktf/provider-docker/lib/volume";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { REDIS_SERVER_LAUNCH } from "../../constructs/_redis-launch";
import { LocalAiEnvironment } from "../../constructs/docker/local-ai-environment";
import { all, type Body, synth, tfVar } from "../helpers/synth";

function build(props: ConstructorParameters<typeof LocalAiEnvironment>[2] = {}): LocalAiEnvironment {
  return new LocalAiEnvironment(new TerraformStack(Testing.app(), "test"), "Local", props);
}

const containerNamed = (json: ReturnType<typeof synth>["json"], name: string): Body => {
  const found = all(json, "docker_container").find((body) => body["name"] === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};

describe("LocalAiEnvironment", () => {
  const { text, json } = synth((scope) => {
    new LocalAiEnvironment(scope, "Local", {
      gatewayPort: 9090,
      gatewaySettings: { ENVIRONMENT: "development", AI_PROVIDER: "ollama", LOG_LEVEL: "debug" },
    });
  });

  it("creates a network and named volumes", () => {
    expect(text).toHaveResourceWithProperties(Network, { name: "ai-dev-net" });
    for (const name of [
      "ai-dev-postgres-data",
      "ai-dev-redis-data",
      "ai-dev-chroma-data",
      "ai-dev-gateway-data",
    ]) {
      expect(text).toHaveResourceWithProperties(Volume, { name });
    }
  });

  it("runs pgvector, Redis (append-only) and Chroma with health checks and restart unless-stopped", () => {
    for (const name of ["ai-dev-postgres", "ai-dev-redis", "ai-dev-chroma", "ai-dev-gateway"]) {
      expect(containerNamed(json, name)).toMatchObject({
        restart: "unless-stopped",
        healthcheck: { interval: "10s", retries: 5 },
        networks_advanced: [{ name: expect.stringContaining("docker_network.") }],
      });
    }
    // The password reaches redis-server on stdin, never in its argv.
    expect(containerNamed(json, "ai-dev-redis")["command"]).toEqual([
      "sh",
      "-c",
      REDIS_SERVER_LAUNCH,
      "redis-server",
      "--appendonly",
      "yes",
      "--dir",
      "/data",
      "--maxmemory-policy",
      "noeviction",
    ]);
    // The response cache on its own evicting instance, with the same launch.
    expect(containerNamed(json, "ai-dev-redis-cache")["command"]).toEqual(
      expect.arrayContaining([REDIS_SERVER_LAUNCH, "--maxmemory-policy", "allkeys-lru"]),
    );
    expect(containerNamed(json, "ai-dev-postgres")["healthcheck"]).toMatchObject({
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "ai_gateway", "-d", "ai_gateway"],
    });
    expect(text).toHaveResourceWithProperties(Image, { name: "pgvector/pgvector:0.8.0-pg16" });
  });

  it("builds the gateway from the repository's Dockerfile and publishes its port on loopback", () => {
    expect(text).toHaveResourceWithProperties(Image, {
      name: "ai-deploy-kit/gateway:dev",
      build: { context: "../../..", dockerfile: "Dockerfile", tag: ["ai-deploy-kit/gateway:dev"] },
    });
    const gateway = containerNamed(json, "ai-dev-gateway");
    expect(gateway).toMatchObject({
      ports: [{ internal: 8080, external: 9090, ip: "127.0.0.1" }],
      read_only: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(gateway["env"]).toEqual(
      expect.arrayContaining([
        "ENVIRONMENT=development",
        "AI_PROVIDER=ollama",
        "LOG_LEVEL=debug",
        `DATABASE_URL=postgres://ai_gateway:${tfVar("ai_dev_postgres_password")}@postgres:5432/ai_gateway`,
        `REDIS_URL=redis://:${tfVar("ai_dev_redis_password")}@redis:6379`,
        `REDIS_CACHE_URL=redis://:${tfVar("ai_dev_redis_password")}@redis-cache:6379`,
        "CHROMA_URL=http://chroma:8000",
      ]),
    );
    expect(text).toHaveResource(Container);
  });

  it("runs Redis as the redis user, since sh -c bypasses the entrypoint that drops root", () => {
    expect(containerNamed(json, "ai-dev-redis")["user"]).toBe("redis");
  });

  it("starts the gateway only once the data services are healthy", () => {
    for (const name of ["ai-dev-postgres", "ai-dev-redis", "ai-dev-redis-cache", "ai-dev-chroma"]) {
      expect(containerNamed(json, name), name).toMatchObject({ wait: true, wait_timeout: 180 });
    }
    expect(containerNamed(json, "ai-dev-gateway")["depends_on"]).toHaveLength(4);
  });

  it("points the gateway at the host's Ollama by default", () => {
    const env = (settings?: Record<string, string>) => {
      const built = synth((scope) => {
        new LocalAiEnvironment(scope, "Local", settings ? { gatewaySettings: settings } : {});
      });
      return containerNamed(built.json, "ai-dev-gateway")["env"];
    };
    expect(env()).toEqual(expect.arrayContaining(["OLLAMA_BASE_URL=http://host.docker.internal:11434"]));
    expect(env({ ENVIRONMENT: "development" })).toEqual(
      expect.arrayContaining(["OLLAMA_BASE_URL=http://host.docker.internal:11434"]),
    );
    expect(env({ OLLAMA_BASE_URL: "http://gpu-box:11434" })).toEqual(
      expect.arrayContaining(["OLLAMA_BASE_URL=http://gpu-box:11434"]),
    );
  });

  it("keeps passwords in sensitive variables", () => {
    expect(Object.keys(json.variable ?? {}).sort()).toEqual([
      "ai_dev_chroma_token",
      "ai_dev_postgres_password",
      "ai_dev_redis_password",
    ]);
    for (const variable of Object.values(json.variable ?? {}))
      expect(variable).toMatchObject({ sensitive: true });
  });

  it("rebuilds the gateway image when its sources change (triggers hash them at synth)", () => {
    const root = mkdtempSync(join(tmpdir(), "ai-deploy-kit-sources-"));
    try {
      mkdirSync(join(root, "app"));
      writeFileSync(join(root, "Dockerfile"), "FROM node:20\n");
      writeFileSync(join(root, "package-lock.json"), "{}\n");
      writeFileSync(join(root, "app/main.ts"), "export const a = 1;\n");
      const triggers = () => {
        const { json } = synth((scope) => {
          new LocalAiEnvironment(scope, "Local", { sourceRoot: root });
        });
        const image = all(json, "docker_image").find((body) => body["build"] !== undefined);
        return image?.["triggers"] as Record<string, string>;
      };
      const first = triggers();
      expect(first["source_sha256"]).toMatch(/^[0-9a-f]{64}$/);
      expect(triggers()).toEqual(first);
      writeFileSync(join(root, "app/main.ts"), "export const a = 2;\n");
      const afterApp = triggers();
      expect(afterApp["source_sha256"]).not.toBe(first["source_sha256"]);
      writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}\n');
      expect(triggers()["source_sha256"]).not.toBe(afterApp["source_sha256"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("fails when the gateway port is out of range", () => {
    expect(() => build({ gatewayPort: 0 })).toThrow(
      "LocalAiEnvironment: gatewayPort (0) must be a port from 1 to 65535, for example 8080",
    );
  });

  it("fails when an image has no tag", () => {
    expect(() => build({ redisImage: "redis" })).toThrow(
      'LocalAiEnvironment: redisImage ("redis") has no tag; pin an immutable tag such as "redis:1.0.0"',
    );
  });

  it("fails when a wired variable is passed as a setting", () => {
    expect(() => build({ gatewaySettings: { REDIS_URL: "redis://x" } })).toThrow(
      "LocalAiEnvironment: gatewaySettings.REDIS_URL is wired by the construct; remove it",
    );
  });

  it("fails when gatewaySettings carries a secret", () => {
    expect(() => build({ gatewaySettings: { GROQ_API_KEY: "gsk_0123456789abcdef" } })).toThrow(
      "LocalAiEnvironment: gatewaySettings.GROQ_API_KEY holds a literal secret-looking value; plain settings are written in clear text to the synthesized output and state, so keep keys and passwords out of it (the data-service passwords are sensitive Terraform variables)",
    );
  });

  it("fails when the name prefix is invalid", () => {
    expect(() => build({ namePrefix: "AI Dev" })).toThrow(
      'LocalAiEnvironment: namePrefix ("AI Dev") must be lower-case letters, digits and "-"',
    );
  });

  it("fails when the gateway memory is below 128 MiB", () => {
    expect(() => build({ gatewayMemoryMiB: 64 })).toThrow(
      "LocalAiEnvironment: gatewayMemoryMiB (64) must be a whole number of at least 128",
    );
  });
});
