import { Container } from "@cdktf/provider-docker/lib/container";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { Aspects, TerraformResource, TerraformStack, Testing } from "cdktf";
import type { Construct } from "constructs";
import { describe, expect, it } from "vitest";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { KitPolicy } from "../../constructs/kubernetes/kit-policy";

function stackWith(mode: "error" | "warn") {
  const stack = new TerraformStack(Testing.app(), "test");
  new KubernetesProvider(stack, "kubernetes", {});
  new DockerProvider(stack, "docker", {});
  Aspects.of(stack).add(new KitPolicy({ mode }));
  return stack;
}

function bareDeployment(stack: TerraformStack, image: string, env: { name: string; value: string }[] = []) {
  return new DeploymentV1(stack, "Bare", {
    metadata: { name: "bare" },
    spec: {
      selector: { matchLabels: { app: "bare" } },
      template: { metadata: { labels: { app: "bare" } }, spec: { container: [{ name: "app", image, env }] } },
    },
  });
}

const WHERE = 'KitPolicy: kubernetes_deployment_v1 "bare" (test/Bare) container "app"';

describe("KitPolicy", () => {
  it("passes the kit's own constructs", () => {
    const stack = stackWith("error");
    new AiGatewayService(stack, "Gateway", {
      image: "ghcr.io/acme/ai-gateway:1.0.0",
      environment: "development",
    });
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });

  it("fails synth naming the resource and the fix for each missing safeguard", () => {
    const stack = stackWith("error");
    bareDeployment(stack, "nginx");
    expect(() => Testing.synth(stack, true)).toThrow(
      [
        `${WHERE} has no CPU and memory limits; set resources.limits.cpu and resources.limits.memory`,
        `${WHERE} has no liveness probe; add livenessProbe`,
        `${WHERE} has no readiness probe; add readinessProbe`,
        `${WHERE} may run as root; set securityContext.runAsNonRoot: true with a non-zero runAsUser`,
        `${WHERE} image "nginx" has no tag; pin an immutable tag or digest`,
      ].join("\n  [test/Bare] "),
    );
  });

  it("fails when an image uses latest", () => {
    const stack = stackWith("error");
    new AiGatewayService(stack, "Gateway", {
      image: "ghcr.io/acme/ai-gateway:latest",
      environment: "development",
    });
    expect(() => Testing.synth(stack, true)).toThrow(
      'KitPolicy: kubernetes_deployment_v1 "ai-gateway" (test/Gateway/Resource) container "gateway" image "ghcr.io/acme/ai-gateway:latest" uses "latest"; pin an immutable tag or digest',
    );
  });

  it("fails when an env value is a literal secret", () => {
    const stack = stackWith("error");
    bareDeployment(stack, "nginx:1.27", [
      { name: "OPENAI_API_KEY", value: "sk-live-0123456789abcdef" },
      { name: "UPSTREAM", value: "https://user:hunter2@example.com" },
      { name: "REDIS_URL", value: "redis://:$(REDIS_PASSWORD)@redis:6379" },
    ]);
    let message = "";
    try {
      Testing.synth(stack, true);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      `${WHERE} env OPENAI_API_KEY holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef) or a sensitive variable`,
    );
    expect(message).toContain(`${WHERE} env UPSTREAM holds a literal secret-looking value`);
    expect(message).not.toContain("REDIS_URL");
    expect(message).not.toContain("sk-live-0123456789abcdef");
  });

  it("checks Docker containers for a memory limit, a health check and tags", () => {
    const stack = stackWith("error");
    new Container(stack, "Db", {
      name: "db",
      image: "postgres",
      env: ["POSTGRES_PASSWORD=literal-password"],
    });
    const where = 'KitPolicy: docker_container "db" (test/Db)';
    expect(() => Testing.synth(stack, true)).toThrow(
      [
        `${where} has no memory limit; set memory (MB)`,
        `${where} has no health check; add healthcheck`,
        `${where} image "postgres" has no tag; pin an immutable tag or digest`,
        `${where} env POSTGRES_PASSWORD holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef) or a sensitive variable`,
      ].join("\n  [test/Db] "),
    );
  });

  it("fails when a ConfigMap holds a literal secret", () => {
    const stack = stackWith("error");
    new ConfigMapV1(stack, "Settings", {
      metadata: { name: "settings" },
      data: { OPENAI_API_KEY: "sk-live-0123456789abcdef", LOG_LEVEL: "info", NOTE: "AKIAABCDEFGHIJKLMNOP" },
    });
    const where = 'KitPolicy: kubernetes_config_map_v1 "settings" (test/Settings)';
    expect(() => Testing.synth(stack, true)).toThrow(
      [
        `${where} data OPENAI_API_KEY holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef or envFrom.secretRef)`,
        `${where} data NOTE holds a literal secret-looking value; move it to a Secret (valueFrom.secretKeyRef or envFrom.secretRef)`,
      ].join("\n  [test/Settings] "),
    );
  });

  it("checks resources by Terraform type, so another copy of the provider classes is not skipped", () => {
    // Stands for a consumer's own @cdktf/provider-kubernetes copy: not our DeploymentV1 class.
    class ForeignDeployment extends TerraformResource {
      constructor(scope: Construct, id: string) {
        super(scope, id, { terraformResourceType: "kubernetes_deployment_v1" });
      }
      protected override synthesizeAttributes(): Record<string, unknown> {
        const container = { name: "app", image: "nginx:latest" };
        return {
          metadata: [{ name: "foreign" }],
          spec: [{ template: [{ spec: [{ container: [container] }] }] }],
        };
      }
    }
    const stack = stackWith("error");
    new ForeignDeployment(stack, "Foreign");
    expect(() => Testing.synth(stack, true)).toThrow(
      'KitPolicy: kubernetes_deployment_v1 "foreign" (test/Foreign) container "app" image "nginx:latest" uses "latest"; pin an immutable tag or digest',
    );
  });

  it("only warns in warn mode", () => {
    const stack = stackWith("warn");
    const bare = bareDeployment(stack, "nginx:latest");
    expect(() => Testing.synth(stack, true)).not.toThrow();
    const warnings = bare.node.metadata
      .filter((entry) => entry.type === "@cdktf/warn")
      .map((entry) => entry.data);
    expect(warnings).toContain(`${WHERE} image "nginx:latest" uses "latest"; pin an immutable tag or digest`);
    expect(warnings).toHaveLength(5);
  });

  it("fails when the mode is unknown", () => {
    expect(() => new KitPolicy({ mode: "strict" as "error" })).toThrow(
      'KitPolicy: mode ("strict") must be "error" or "warn"',
    );
  });
});
