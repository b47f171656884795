import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../stacks/main";
import {
  kubernetesResourceCount,
  kubernetesSchemaProblems,
  type StackJson,
  toKubernetesObject,
} from "../helpers/kubernetes-schema";

type Body = Record<string, unknown>;
type Resources = Record<string, Record<string, Body>>;

function synthesizeAll(): Record<string, StackJson> {
  const outdir = mkdtempSync(join(tmpdir(), "schema-synth-"));
  try {
    buildApp({ outdir }, {}).synth();
    const stacks: Record<string, StackJson> = {};
    for (const name of ["development", "staging", "production"]) {
      stacks[name] = JSON.parse(
        readFileSync(join(outdir, "stacks", name, "cdk.tf.json"), "utf8"),
      ) as StackJson;
    }
    return stacks;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const stacks = synthesizeAll();
const production = stacks["production"]?.resource as Resources;
const first = (type: string): Body => structuredClone(Object.values(production[type] ?? {})[0] ?? {});
const podContainer = (body: Body): Body =>
  ((((body["spec"] as Body)["template"] as Body)["spec"] as Body)["container"] as Body[])[0] as Body;

describe("Kubernetes schema check of the synthesized stacks", () => {
  it("accepts every kubernetes_* resource of every stack, unknown fields included", () => {
    // Development runs on Docker: it holds no kubernetes_* resource; the cluster stacks hold them all.
    expect(kubernetesResourceCount({ development: stacks["development"] ?? {} })).toBe(0);
    expect(kubernetesResourceCount({ production: stacks["production"] ?? {} })).toBeGreaterThan(30);
    expect(kubernetesSchemaProblems(stacks)).toEqual([]);
  }, 120_000);

  it("converts provider blocks to the object the API server receives", () => {
    const { object } = toKubernetesObject("kubernetes_deployment_v1", first("kubernetes_deployment_v1"));
    const spec = (object["spec"] as Body)["template"] as Body;
    const container = ((spec["spec"] as Body)["containers"] as Body[])[0] as Body;
    expect(object).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
    expect(container["ports"]).toEqual([{ containerPort: 8080, name: "http", protocol: "TCP" }]);
    expect(container["securityContext"]).toMatchObject({ runAsUser: 10001, allowPrivilegeEscalation: false });
    expect(object).not.toHaveProperty("dependsOn");
  });

  it("fails on a misspelled field, a wrong enum value, an unknown type and a bad ServiceMonitor", () => {
    const misspelled = first("kubernetes_deployment_v1");
    podContainer(misspelled)["image_pull_polcy"] = "IfNotPresent";
    const wrongEnum = first("kubernetes_deployment_v1");
    podContainer(wrongEnum)["image_pull_policy"] = "Sometimes";
    const monitor = Object.values(production["kubernetes_manifest"] ?? {})
      .map((body) => structuredClone(body))
      .find((body) => (body["manifest"] as Body)["kind"] === "ServiceMonitor") as Body;
    const endpoint = (((monitor["manifest"] as Body)["spec"] as Body)["endpoints"] as Body[])[0] as Body;
    endpoint["intervall"] = endpoint["interval"];
    const broken: StackJson = {
      resource: {
        kubernetes_deployment_v1: { Misspelled: misspelled, WrongEnum: wrongEnum },
        kubernetes_manifest: { Monitor: monitor },
        kubernetes_ingress_class_v1: { Unmapped: { metadata: { name: "x" } } },
      },
    };
    const problems = kubernetesSchemaProblems({ broken });
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          address: "broken: kubernetes_ingress_class_v1.Unmapped",
          message: "kubernetes_ingress_class_v1: no Kubernetes schema mapped; add it to TARGETS",
        },
        {
          address: "broken: kubernetes_deployment_v1.WrongEnum",
          message:
            "data/spec/template/spec/containers/0/imagePullPolicy must be equal to one of the allowed values",
        },
        {
          address: "broken: kubernetes_deployment_v1.Misspelled",
          message: `Object literal may only specify known properties, and '"imagePullPolcy"' does not exist in type 'IContainer'.`,
        },
        {
          address: "broken: kubernetes_deployment_v1.WrongEnum",
          message: `Type '"Sometimes"' is not assignable to type '"IfNotPresent" | "Always" | "Never" | undefined'.`,
        },
        {
          address: "broken: kubernetes_manifest.Monitor",
          message: expect.stringContaining(`'"intervall"' does not exist in type`),
        },
      ]),
    );
    expect(problems).toHaveLength(5);
  }, 120_000);
});
