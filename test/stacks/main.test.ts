import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { ENVIRONMENTS, environmentConfig } from "../../stacks/environments";
import { buildApp, EnvironmentStack } from "../../stacks/main";

function synth(name: "development" | "staging" | "production"): string {
  const app = Testing.app();
  const stack = new EnvironmentStack(app, name, { environment: ENVIRONMENTS[name] });
  return Testing.synth(stack);
}

describe("stacks", () => {
  it("builds one stack per environment", () => {
    const app = buildApp({ outdir: Testing.app().outdir });
    expect(app.node.children.map((child) => child.node.id)).toEqual(["development", "staging", "production"]);
  });

  it("deploys development with the Docker provider", () => {
    expect(synth("development")).toHaveProvider(DockerProvider);
  });

  it.each(["staging", "production"] as const)(
    "deploys %s with the Kubernetes provider into its namespace",
    (name) => {
      const synthesized = synth(name);
      expect(synthesized).toHaveProvider(KubernetesProvider);
      expect(synthesized).toHaveResourceWithProperties(NamespaceV1, {
        metadata: expect.objectContaining({ name: ENVIRONMENTS[name].namespace }),
      });
    },
  );

  it("fails when an environment name is unknown", () => {
    expect(() => environmentConfig("qa")).toThrow(
      'unknown environment "qa"; use one of development, staging, production',
    );
  });
});
