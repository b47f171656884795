import { readFileSync } from "node:fs";
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { DASHBOARD_DOC, productionDashboardJson } from "../../stacks/dashboard";
import { ENVIRONMENTS } from "../../stacks/environments";
import { EnvironmentStack } from "../../stacks/main";
import { all, type Body } from "../helpers/synth";

describe("docs/grafana-dashboard.json", () => {
  it("is the dashboard the production stack ships (npm run docs:dashboard rewrites it)", () => {
    const committed = readFileSync(DASHBOARD_DOC, "utf8");
    expect(committed, `${DASHBOARD_DOC} is stale: run npm run docs:dashboard and commit it`).toBe(
      productionDashboardJson(),
    );
    const stack = new EnvironmentStack(Testing.app(), "production", { environment: ENVIRONMENTS.production });
    const json = JSON.parse(Testing.synth(stack, true)) as Parameters<typeof all>[0];
    const dashboards = all(json, "kubernetes_config_map_v1").filter(
      (body) => ((body["metadata"] as Body)["labels"] as Body)["grafana_dashboard"] === "1",
    );
    expect(dashboards.map((body) => body["data"])).toEqual([{ "ai-gateway.json": committed }]);
  });
});
