import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { DestroyProtection, destroyAllowed } from "../../constructs/kubernetes/destroy-protection";
import { diffStack } from "../../scripts/plan/diff";
import type { JsonObject } from "../../scripts/plan/json";
import { renderReport, renderSummary } from "../../scripts/plan/render";
import { ENVIRONMENTS } from "../../stacks/environments";
import { buildApp, EnvironmentStack } from "../../stacks/main";
import type { Body, Synthesized } from "../helpers/synth";

type Name = "development" | "staging" | "production";

function synth(name: Name, allowDestroy = false): Synthesized {
  const stack = new EnvironmentStack(Testing.app(), name, { environment: ENVIRONMENTS[name], allowDestroy });
  return JSON.parse(Testing.synth(stack, true)) as Synthesized;
}

/** `type.name` of every resource whose lifecycle prevents destroy. */
function protectedResources(json: Synthesized): string[] {
  return Object.entries(json.resource ?? {})
    .flatMap(([type, byName]) =>
      Object.entries(byName)
        .filter(([, body]) => (body["lifecycle"] as Body | undefined)?.["prevent_destroy"] === true)
        .map(([name]) => `${type}.${name}`),
    )
    .sort();
}

const header = { base: "main", baseCommit: "abcdef0123456789", head: "working tree" };

describe("destroy protection", () => {
  it.each(["staging", "production"] as const)(
    "protects %s's namespace, StatefulSets (their volumes), the backup PVC and Secrets",
    (name) => {
      const json = synth(name);
      const found = protectedResources(json);
      expect(found).toContain("kubernetes_namespace_v1.Namespace");
      const types = new Set(found.map((address) => address.split(".")[0]));
      expect([...types].sort()).toEqual([
        "kubernetes_namespace_v1",
        // The backups' volume.
        "kubernetes_persistent_volume_claim_v1",
        "kubernetes_secret_v1",
        "kubernetes_stateful_set_v1",
      ]);
      // Every StatefulSet and every Secret the stack creates.
      for (const type of [
        "kubernetes_stateful_set_v1",
        "kubernetes_secret_v1",
        "kubernetes_persistent_volume_claim_v1",
      ]) {
        const all = Object.keys(json.resource?.[type] ?? {}).map((id) => `${type}.${id}`);
        expect(all.length).toBeGreaterThan(0);
        for (const address of all) expect(found).toContain(address);
      }
      // Nothing stateless is protected: Deployments and Services roll and re-create freely.
      expect(found.filter((address) => address.startsWith("kubernetes_deployment"))).toEqual([]);
    },
  );

  it("keeps the lifecycle a resource already has (the data services' ignore_changes)", () => {
    const statefulSets = Object.values(synth("production").resource?.["kubernetes_stateful_set_v1"] ?? {});
    for (const body of statefulSets) {
      expect(body["lifecycle"]).toEqual({
        ignore_changes: ["spec[0].volume_claim_template"],
        prevent_destroy: true,
      });
    }
  });

  it("leaves development (Docker, throwaway data) unprotected", () => {
    expect(protectedResources(synth("development"))).toEqual([]);
  });

  it("is lifted only for the stack AI_ALLOW_DESTROY names", () => {
    expect(destroyAllowed("staging", { AI_ALLOW_DESTROY: "staging" })).toBe(true);
    expect(destroyAllowed("production", { AI_ALLOW_DESTROY: "staging" })).toBe(false);
    expect(destroyAllowed("production", { AI_ALLOW_DESTROY: "staging, production" })).toBe(true);
    expect(destroyAllowed("production", { AI_ALLOW_DESTROY: "prod" })).toBe(false);
    expect(destroyAllowed("production", {})).toBe(false);
    expect(protectedResources(synth("staging", true))).toEqual([]);
    const outdir = mkdtempSync(join(tmpdir(), "destroy-protection-"));
    const app = buildApp({ outdir }, { AI_ALLOW_DESTROY: "staging" });
    const stack = (name: string) =>
      JSON.parse(Testing.synth(app.node.findChild(name) as EnvironmentStack)) as Synthesized;
    expect(protectedResources(stack("staging"))).toEqual([]);
    expect(protectedResources(stack("production")).length).toBeGreaterThan(0);
    rmSync(outdir, { recursive: true, force: true });
  });

  it("fails when given a versioned or malformed type", () => {
    expect(() => new DestroyProtection({ types: ["kubernetes_secret_v1"] })).toThrow(
      'DestroyProtection: types entry ("kubernetes_secret_v1") must be a Terraform type without version suffix, for example "kubernetes_secret"',
    );
  });
});

describe("plan review of stateful resources", () => {
  const statefulSet = (storage: string, ignore: boolean): JsonObject => ({
    resource: {
      kubernetes_stateful_set_v1: {
        Database: {
          "//": { metadata: { path: "staging/Database/Resource", uniqueId: "Database" } },
          ...(ignore ? { lifecycle: { ignore_changes: ["spec[0].volume_claim_template"] } } : {}),
          metadata: { name: "ai-postgres", namespace: "ai-staging" },
          spec: {
            volume_claim_template: [
              { metadata: { name: "data" }, spec: { resources: { requests: { storage } } } },
            ],
          },
        },
      },
      kubernetes_namespace_v1: { Namespace: { metadata: { name: "ai-staging" } } },
      kubernetes_service_v1: { Api: { metadata: { name: "api" } } },
    },
  });

  it("flags a destroyed namespace at the very top of the report, before the counts", () => {
    const base = statefulSet("20Gi", true);
    const head = JSON.parse(JSON.stringify(base)) as { resource: Record<string, unknown> };
    delete head.resource["kubernetes_namespace_v1"];
    delete head.resource["kubernetes_service_v1"];
    const report = renderReport(header, [diffStack("staging", base, head as JsonObject)]);
    const [title, blank, ...rest] = report.split("\n");
    expect(title).toContain("## Plan review");
    expect(blank).toBe("");
    expect(rest[0]).toBe("> [!CAUTION]");
    expect(rest[1]).toBe(
      "> **Destroys 1 stateful resource: the data in it is lost unless restored from a backup.**",
    );
    expect(rest[2]).toBe("> - `staging`: removed `kubernetes_namespace_v1.Namespace` (name `ai-staging`)");
    expect(report.indexOf("> [!CAUTION]")).toBeLessThan(report.indexOf("| stack |"));
    // The removed Service is not stateful: listed in the body, not in the warning.
    expect(rest.slice(0, 6).join("\n")).not.toContain("kubernetes_service_v1");
    // The summary a long report turns into carries the same warning first.
    const summary = renderSummary(
      header,
      [diffStack("staging", base, head as JsonObject)],
      "x.md",
      99999,
      5000,
    );
    expect(summary.split("\n")[2]).toBe("> [!CAUTION]");
  });

  it("flags a replaced StatefulSet whose volume size changes without ignore_changes", () => {
    const report = renderReport(header, [
      diffStack("staging", statefulSet("20Gi", false), statefulSet("40Gi", false)),
    ]);
    expect(report).toContain(
      "> - `staging`: replaced `kubernetes_stateful_set_v1.Database` from `staging/Database/Resource` (name `ai-postgres`, namespace `ai-staging`) because of `spec.volume_claim_template[0].spec.resources.requests.storage`",
    );
  });

  it("explains a volume size change on the kit's StatefulSets as PVC expansion, not a replacement", () => {
    const plan = diffStack("staging", statefulSet("20Gi", true), statefulSet("40Gi", true));
    expect(plan.changes.map((entry) => [entry.action, entry.risk])).toEqual([["update", 2]]);
    const report = renderReport(header, [plan]);
    expect(report).not.toContain("[!CAUTION]");
    expect(report).not.toContain("forces replacement");
    expect(report).toContain(
      '  - `spec.volume_claim_template[0].spec.resources.requests.storage`: `"20Gi"` → `"40Gi"` **ignored by terraform** (`lifecycle.ignore_changes`: `spec[0].volume_claim_template`), nothing is replaced. The new size applies to volumes created from now on; grow the existing volume by PVC expansion (the storage class needs `allowVolumeExpansion: true`): `kubectl -n <namespace> patch pvc data-<name>-0 --type merge -p \'{"spec":{"resources":{"requests":{"storage":"<size>"}}}}\'` (docs/operations.md, "Growing a volume")',
    );
  });

  it("sets each environment's storage class on every data volume", () => {
    const environment = { ...ENVIRONMENTS.production, storageClassName: "gp3-expandable" };
    const stack = new EnvironmentStack(Testing.app(), "production", { environment });
    const json = JSON.parse(Testing.synth(stack)) as Synthesized;
    const classes = Object.values(json.resource?.["kubernetes_stateful_set_v1"] ?? {}).map(
      (body) =>
        (((body["spec"] as Body)["volume_claim_template"] as Body[])[0]!["spec"] as Body)[
          "storage_class_name"
        ],
    );
    expect(classes).toEqual(["gp3-expandable", "gp3-expandable", "gp3-expandable", "gp3-expandable"]);
  });
});
