import { describe, expect, it } from "vitest";
import { diffStack } from "../../../scripts/plan/diff";
import type { JsonObject } from "../../../scripts/plan/json";
import { attributeLine, code, renderReport } from "../../../scripts/plan/render";
import { parseQuantity } from "../../../scripts/plan/replacement-rules";

const meta = (path: string) => ({ "//": { metadata: { path, uniqueId: path.split("/").pop()! } } });

function stack(resources: Record<string, Record<string, JsonObject>>, extra: JsonObject = {}): JsonObject {
  return { resource: resources, ...extra };
}

function lines(base: JsonObject, head: JsonObject): string[] {
  const plan = diffStack("staging", base, head);
  return plan.changes.flatMap((entry) => entry.attributes.map((attribute) => attributeLine(attribute)));
}

describe("attribute diff", () => {
  it("grows a PVC in place but replaces it when it shrinks", () => {
    const pvc = (size: string) =>
      stack({
        kubernetes_persistent_volume_claim_v1: {
          Data: {
            ...meta("staging/Data"),
            metadata: { name: "data" },
            spec: { resources: { requests: { storage: size } } },
          },
        },
      });
    expect(diffStack("s", pvc("10Gi"), pvc("20Gi")).changes[0]!.action).toBe("update");
    const shrink = diffStack("s", pvc("20Gi"), pvc("10Gi")).changes[0]!;
    expect(shrink.action).toBe("replace");
    expect(attributeLine(shrink.attributes[0]!)).toBe(
      '`spec.resources.requests.storage`: `"20Gi"` → `"10Gi"` **forces replacement**: a PVC can grow in place but never shrink',
    );
  });

  it("replaces a Service whose cluster IP changes and a resource whose name changes", () => {
    const service = (ip: string, name: string) =>
      stack({
        kubernetes_service_v1: { Api: { ...meta("s/Api"), metadata: { name }, spec: { cluster_ip: ip } } },
      });
    const changes = diffStack("s", service("10.0.0.1", "api"), service("10.0.0.2", "api2")).changes[0]!;
    expect(changes.action).toBe("replace");
    expect(changes.attributes.map((attribute) => attribute.forcesReplacement?.reason)).toEqual([
      "Kubernetes object names are immutable",
      "a Service's cluster IP is immutable",
    ]);
  });

  it("masks secret-looking keys, env values of secret variables and Docker env assignments, not switches or references", () => {
    const before = stack({
      docker_container: {
        Gateway: {
          ...meta("d/Gateway"),
          name: "gw",
          env: ["OPENAI_API_KEY=sk-old-value-123", "LOG_LEVEL=info"],
        },
      },
      kubernetes_deployment_v1: {
        Gateway: {
          ...meta("s/Gateway"),
          spec: {
            template: {
              spec: {
                automount_service_account_token: true,
                container: [
                  {
                    env: [
                      { name: "DATABASE_URL", value: "postgres://u:old-pass@db/x" },
                      {
                        name: "OPENAI_API_KEY",
                        value_from: { secret_key_ref: { name: "keys-a", key: "OPENAI_API_KEY" } },
                      },
                    ],
                  },
                ],
              },
            },
          },
          client: { password: "old-pw", token: "old-token" },
        },
      },
    });
    const after = stack({
      docker_container: {
        Gateway: {
          ...meta("d/Gateway"),
          name: "gw",
          env: ["OPENAI_API_KEY=sk-new-value-456", "LOG_LEVEL=warn"],
        },
      },
      kubernetes_deployment_v1: {
        Gateway: {
          ...meta("s/Gateway"),
          spec: {
            template: {
              spec: {
                automount_service_account_token: false,
                container: [
                  {
                    env: [
                      { name: "DATABASE_URL", value: "postgres://u:new-pass@db/x" },
                      {
                        name: "OPENAI_API_KEY",
                        value_from: { secret_key_ref: { name: "keys-b", key: "OPENAI_KEY" } },
                      },
                    ],
                  },
                ],
              },
            },
          },
          client: { password: "new-pw", token: "new-token" },
        },
      },
    });
    const text = lines(before, after).join("\n");
    expect(text.split("\n")).toEqual([
      '`env[0]`: `"OPENAI_API_KEY=(sensitive)"` → `"OPENAI_API_KEY=(sensitive)"` **forces replacement**: a Docker container is recreated for any change but its restart policy and CPU/memory limits',
      '`env[1]`: `"LOG_LEVEL=info"` → `"LOG_LEVEL=warn"` **forces replacement**: a Docker container is recreated for any change but its restart policy and CPU/memory limits',
      "`client.password`: (sensitive) → (sensitive)",
      "`client.token`: (sensitive) → (sensitive)",
      "`spec.template.spec.automount_service_account_token`: `true` → `false`",
      "`spec.template.spec.container[0].env[0].value`: (sensitive) → (sensitive)",
      '`spec.template.spec.container[0].env[1].value_from.secret_key_ref.key`: `"OPENAI_API_KEY"` → `"OPENAI_KEY"`',
      '`spec.template.spec.container[0].env[1].value_from.secret_key_ref.name`: `"keys-a"` → `"keys-b"`',
    ]);
    for (const secret of ["old-value", "new-value", "old-pass", "new-pass", "old-pw", "new-token"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("pairs named blocks by name, so an inserted env entry is one addition, not a shift", () => {
    const deployment = (env: Array<{ name: string; value: string }>) =>
      stack({
        kubernetes_deployment_v1: { Gw: { ...meta("s/Gw"), spec: { container: [{ name: "gw", env }] } } },
      });
    const before = deployment([
      { name: "A", value: "1" },
      { name: "C", value: "3" },
      { name: "D", value: "4" },
    ]);
    const after = deployment([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
      { name: "C", value: "3" },
      { name: "OPENAI_API_KEY", value: "sk-added-key-value" },
    ]);
    expect(lines(before, after)).toEqual([
      '`spec.container[0].env[1].name`: (none) → `"B"`',
      '`spec.container[0].env[1].value`: (none) → `"2"`',
      '`spec.container[0].env[3].name`: (none) → `"OPENAI_API_KEY"`',
      "`spec.container[0].env[3].value`: (none) → (sensitive)",
      '`spec.container[0].env[2].name`: `"D"` → (none)',
      '`spec.container[0].env[2].value`: `"4"` → (none)',
    ]);
  });

  it("masks a sensitive variable's default and a sensitive output's value", () => {
    const before: JsonObject = {
      variable: { key: { type: "string", sensitive: true, default: "hunter2" } },
      output: { url: { value: "https://user:pw@host", sensitive: true } },
    };
    const after: JsonObject = {
      variable: { key: { type: "string", sensitive: true, default: "hunter3" } },
      output: { url: { value: "https://user:pw2@host", sensitive: true } },
    };
    expect(lines(before, after)).toEqual([
      "`value`: (sensitive) → (sensitive)",
      "`default`: (sensitive) → (sensitive)",
    ]);
  });

  it("treats a moved block as a move, not a destroy and create", () => {
    const before = stack({ kubernetes_service_v1: { Old: { ...meta("s/Old"), metadata: { name: "api" } } } });
    const after = stack(
      { kubernetes_service_v1: { New: { ...meta("s/New"), metadata: { name: "api" } } } },
      { moved: [{ from: "kubernetes_service_v1.Old", to: "kubernetes_service_v1.New" }] },
    );
    const changes = diffStack("s", before, after).changes;
    expect(changes.map((entry) => [entry.action, entry.block.address, entry.moved?.from])).toEqual([
      ["update", "kubernetes_service_v1.New", "kubernetes_service_v1.Old"],
    ]);
  });

  it("ignores cdktf's construct metadata and reports a removed stack as destroying everything", () => {
    const base = stack({ kubernetes_namespace_v1: { Ns: { ...meta("a/Ns"), metadata: { name: "x" } } } });
    const moved = stack({ kubernetes_namespace_v1: { Ns: { ...meta("b/Ns"), metadata: { name: "x" } } } });
    expect(diffStack("s", base, moved).changes).toEqual([]);
    const removed = diffStack("gone", base, undefined);
    expect(removed.status).toBe("removed");
    expect(removed.changes.map((entry) => [entry.action, entry.risk])).toEqual([["remove", 5]]);
    expect(renderReport({ base: "main", baseCommit: "abc", head: "working tree" }, [removed])).toContain(
      "| `gone` (stack removed) | 0 | 0 | 0 | 1 | 0 |",
    );
  });
});

describe("rendering helpers", () => {
  it("fences code spans around backticks and cuts long values around the first difference", () => {
    expect(code("a`b")).toBe("``a`b``");
    const long = (tail: string) =>
      stack({
        kubernetes_config_map_v1: { C: { ...meta("s/C"), data: { f: `${"x".repeat(400)}${tail}` } } },
      });
    const [line] = lines(long("old"), long("new"));
    expect(line).toMatch(/^`data\.f`: `…x+old"` \(405 chars\) → `…x+new"` \(405 chars\)$/);
  });

  it("parses Kubernetes quantities", () => {
    expect(parseQuantity("1Gi")).toBe(2 ** 30);
    expect(parseQuantity("1.5G")).toBe(1.5e9);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a terraform reference, not a template
    expect(parseQuantity("${var.size}")).toBeUndefined();
  });
});
