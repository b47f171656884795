import { Container } from "@cdktf/provider-docker/lib/container";
import { Image } from "@cdktf/provider-docker/lib/image";
import { Network } from "@cdktf/provider-docker/lib/network";
import { Volume } from "@cdktf/provider-docker/lib/volume";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
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
    expect(containerNamed(json, "ai-dev-redis")["command"]).toEqual([
      "sh",
      "-c",
      'exec redis-server --appendonly yes --dir /data --requirepass "$REDIS_PASSWORD"',
    ]);
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
        "CHROMA_URL=http://chroma:8000",
      ]),
    );
    expect(text).toHaveResource(Container);
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
