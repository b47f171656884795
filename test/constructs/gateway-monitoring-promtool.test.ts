import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { dashboardQueries } from "../../constructs/kubernetes/_gateway-dashboard";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { GatewayMonitoring } from "../../constructs/kubernetes/gateway-monitoring";

/**
 * Why promtool cannot check the expressions here, or undefined when it can. promtool is not an npm
 * package (Debian's `prometheus` package ships it): a machine without it skips with this reason in
 * the test's name; the registry check in gateway-monitoring.test.ts runs everywhere.
 */
const PROMTOOL_MISSING: string | undefined =
  spawnSync("promtool", ["--version"]).status === 0
    ? undefined
    : "no promtool binary on PATH (apt-get install prometheus ships it)";

function monitoring(): GatewayMonitoring {
  const stack = new TerraformStack(Testing.app(), "test");
  const gateway = new AiGatewayService(stack, "Gateway", {
    image: "ghcr.io/acme/ai-gateway:1.0.0",
    namespace: "ai",
    environment: "development",
  });
  return new GatewayMonitoring(stack, "Monitoring", { gateway });
}

/** Grafana's range variables as a Prometheus server would see them once Grafana filled them in. */
const grafanaFilled = (expr: string) =>
  expr.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "6h");

const name = "promtool parses every alert rule and every dashboard query";
describe("GatewayMonitoring with promtool", () => {
  (PROMTOOL_MISSING ? it.skip : it)(
    PROMTOOL_MISSING ? `${name} [skipped: ${PROMTOOL_MISSING}]` : name,
    () => {
      const built = monitoring();
      const rules = {
        groups: [
          {
            name: "alerts",
            rules: built.alerts.map((rule) => ({ alert: rule.alert, expr: rule.expr, for: rule.for })),
          },
          {
            name: "dashboard",
            rules: dashboardQueries(built.dashboardJson).map((query, index) => ({
              record: `dashboard:query_${index}`,
              expr: grafanaFilled(query.expr),
            })),
          },
        ],
      };
      const dir = mkdtempSync(join(tmpdir(), "promtool-"));
      try {
        const file = join(dir, "rules.yml");
        writeFileSync(file, stringify(rules));
        const result = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
        expect(`${result.stdout}${result.stderr}`).toContain(
          `SUCCESS: ${rules.groups[0]!.rules.length + rules.groups[1]!.rules.length} rules found`,
        );
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
