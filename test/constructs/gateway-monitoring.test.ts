import "../helpers/cdktf-matchers";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { ConfigStore } from "../../app/config/config-store";
import { GatewayEvents } from "../../app/observability/events";
import { DURATION_BUCKETS_SECONDS, METRIC, PROCESS_METRIC } from "../../app/observability/metric-names";
import { createMetrics } from "../../app/observability/metrics";
import { dashboardQueries } from "../../constructs/kubernetes/_gateway-dashboard";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { BlueGreenGateway } from "../../constructs/kubernetes/blue-green-gateway";
import {
  GatewayMonitoring,
  type GatewayMonitoringProps,
} from "../../constructs/kubernetes/gateway-monitoring";
import { testConfig } from "../helpers/deps";
import { kubernetesSchemaProblems, type StackJson } from "../helpers/kubernetes-schema";
import { all, type Body, synth } from "../helpers/synth";
import { type DeclaredSeries, declaredSeries, promqlUses, undeclaredUses } from "./_promql";

/** The series the gateway's real registry declares (default process metrics on), as Prometheus scrapes them. */
async function gatewaySeries(): Promise<DeclaredSeries> {
  const metrics = createMetrics({ events: new GatewayEvents(), config: new ConfigStore(testConfig()) });
  try {
    return await declaredSeries(metrics.registry);
  } finally {
    metrics.close();
  }
}

/** The bucket bounds of the real request-duration histogram (prom-client keeps them as `upperBounds`). */
function durationBounds(): unknown {
  const metrics = createMetrics({ events: new GatewayEvents(), config: new ConfigStore(testConfig()) });
  try {
    const histogram: unknown = metrics.registry.getSingleMetric(METRIC.requestDuration);
    return typeof histogram === "object" && histogram !== null && "upperBounds" in histogram
      ? histogram.upperBounds
      : undefined;
  } finally {
    metrics.close();
  }
}

function build(props: Partial<GatewayMonitoringProps> = {}): GatewayMonitoring {
  const stack = new TerraformStack(Testing.app(), "test");
  const gateway = new AiGatewayService(stack, "Gateway", {
    image: "ghcr.io/acme/ai-gateway:1.0.0",
    namespace: "ai",
    environment: "development",
  });
  return new GatewayMonitoring(stack, "Monitoring", { gateway, ...props });
}

describe("GatewayMonitoring", () => {
  const monitoring = build();

  it("has the guide's alerts", () => {
    expect(monitoring.alerts.map((rule) => rule.alert)).toEqual([
      "AiGatewayHighErrorRate",
      "AiGatewayHighLatency",
      "AiGatewayBudgetExceeded",
      "AiGatewayBudgetNearlySpent",
      "AiGatewayCircuitBreakerOpen",
      "AiGatewayProviderFailover",
      "AiGatewayHighMemory",
      "AiGatewayTokenUsageSpike",
      "AiGatewayLedgerSpooling",
      "AiGatewayLedgerDeadLetters",
      "AiGatewayLedgerWriteErrors",
    ]);
    const expr = (name: string) => monitoring.alerts.find((rule) => rule.alert === name)?.expr;
    expect(expr("AiGatewayHighErrorRate")).toMatch(/status=~"5\.\."/);
    // Degraded 200 replies count as errors; each term survives the other having no series yet.
    expect(expr("AiGatewayHighErrorRate")).toMatch(
      /^\(\(sum\(rate\(ai_gateway_requests_total\{[^}]*status=~"5\.\."\}\[5m\]\)\) or vector\(0\)\) \+ \(sum\(rate\(ai_gateway_degraded_replies_total\{[^}]*\}\[5m\]\)\) or vector\(0\)\)\) \/ clamp_min\(sum\(rate\(ai_gateway_requests_total\{/,
    );
    expect(expr("AiGatewayHighErrorRate")).toMatch(/> 0\.05$/);
    expect(expr("AiGatewayHighLatency")).toMatch(/^histogram_quantile\(0\.95, .*\) > 10$/);
    expect(expr("AiGatewayHighMemory")).toMatch(/\/ 2147483648 > 0\.8$/);
    expect(expr("AiGatewayCircuitBreakerOpen")).toMatch(/== 2$/);
  });

  it("uses only series and labels the gateway's registry declares", async () => {
    const declared = await gatewaySeries();
    expect(declared.get(`${METRIC.requestDuration}_bucket`)).toContain("le");
    expect(declared.has(PROCESS_METRIC.residentMemory)).toBe(true);
    // The latency validation's bound is the one the real histogram uses.
    expect(durationBounds()).toEqual([...DURATION_BUCKETS_SECONDS]);
    for (const rule of monitoring.alerts) {
      expect(undeclaredUses(rule.expr, declared), rule.alert).toEqual([]);
    }
  });

  it("the check reports a metric, a histogram suffix and labels the registry does not declare", async () => {
    const declared = await gatewaySeries();
    expect(
      undeclaredUses(
        'sum by (tenant) (rate(ai_gateway_made_up_total{job="x"}[5m])) / sum(rate(ai_gateway_requests_total{code=~"5.."}[5m])) > 0.5 and histogram_quantile(0.9, sum by (le) (rate(ai_gateway_tokens_total_bucket[5m]))) > 1',
        declared,
      ),
    ).toEqual([
      "ai_gateway_made_up_total is not declared",
      "ai_gateway_requests_total has no label code (matcher)",
      "ai_gateway_tokens_total_bucket is not declared",
    ]);
    expect(undeclaredUses("max by (model) (ai_gateway_circuit_state) == 2", declared)).toEqual([
      "ai_gateway_circuit_state has no label model (grouping)",
    ]);
    expect(undeclaredUses("sum(rate(ai_gateway_fallbacks_total[5m])) by (provider) > 0", declared)).toEqual([
      "ai_gateway_fallbacks_total has no label provider (grouping)",
    ]);
    expect(() =>
      undeclaredUses("predict_linear(ai_gateway_budget_spent_usd[1h], 3600) > 1", declared),
    ).toThrow("unknown PromQL function predict_linear");
  });

  it("scrapes with the METRICS_TOKEN bearer token from a Secret when metricsTokenSecret is set, and the ServiceMonitor passes the operator's schema", () => {
    const { text, json } = synth((scope) => {
      const gateway = new BlueGreenGateway(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        imageRepository: "ghcr.io/acme/ai-gateway",
        blueImageTag: "1.0.0",
        greenImageTag: "1.0.0",
      });
      new GatewayMonitoring(scope, "Monitoring", {
        gateway,
        metricsTokenSecret: { name: "ai-gateway-secrets", key: "METRICS_TOKEN" },
      });
    });
    expect(text).toHaveResourceWithProperties(Manifest, {
      manifest: expect.objectContaining({
        kind: "ServiceMonitor",
        spec: expect.objectContaining({
          endpoints: [
            {
              port: "http",
              path: "/metrics",
              interval: "30s",
              authorization: {
                type: "Bearer",
                credentials: { name: "ai-gateway-secrets", key: "METRICS_TOKEN" },
              },
            },
          ],
        }),
      }),
    });
    expect(kubernetesSchemaProblems({ monitoring: json as StackJson })).toEqual([]);
  });

  it("synthesizes a ServiceMonitor and a PrometheusRule with runbook annotations", () => {
    const { text, json } = synth((scope) => {
      const gateway = new BlueGreenGateway(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        imageRepository: "ghcr.io/acme/ai-gateway",
        blueImageTag: "1.0.0",
        greenImageTag: "1.0.0",
      });
      new GatewayMonitoring(scope, "Monitoring", {
        gateway,
        runbookBaseUrl: "https://runbooks.example.com/ai",
      });
    });
    expect(text).toHaveResourceWithProperties(Manifest, {
      manifest: expect.objectContaining({
        kind: "ServiceMonitor",
        spec: {
          selector: { matchLabels: { "ai-deploy-kit.io/metrics": "ai-gateway" } },
          namespaceSelector: { matchNames: ["ai"] },
          endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
        },
      }),
    });
    const rule = all(json, "kubernetes_manifest")
      .map((body) => body["manifest"] as Body)
      .find((manifest) => manifest["kind"] === "PrometheusRule");
    if (!rule) throw new Error("no PrometheusRule synthesized");
    const rules = (((rule["spec"] as Body)["groups"] as Body[])[0] as Body)["rules"] as Body[];
    expect(rules).toHaveLength(11);
    for (const entry of rules) {
      expect(entry["annotations"]).toMatchObject({
        summary: expect.any(String),
        runbook_url: expect.stringMatching(/^https:\/\/runbooks\.example\.com\/ai#[a-z-]+$/),
      });
      expect(entry["expr"]).toContain('namespace="ai",job=~"ai-gateway(-blue|-green)?"');
    }
  });

  it("creates no manifests when the Prometheus Operator is absent, but keeps the rules", () => {
    const { json } = synth((scope) => {
      const gateway = new AiGatewayService(scope, "Gateway", {
        image: "ghcr.io/acme/ai-gateway:1.0.0",
        environment: "development",
      });
      new GatewayMonitoring(scope, "Monitoring", { gateway, prometheusOperatorEnabled: false });
    });
    expect(all(json, "kubernetes_manifest")).toEqual([]);
    expect(build({ prometheusOperatorEnabled: false }).alerts).toHaveLength(11);
  });

  it("builds a dashboard whose every query reads only series and labels the registry declares", async () => {
    const declared = await gatewaySeries();
    const queries = dashboardQueries(monitoring.dashboardJson);
    expect([...new Set(queries.map((query) => query.panel))]).toEqual([
      "Requests by provider",
      "Error ratio by provider (5xx)",
      "Latency by provider",
      "Upstream errors and failovers",
      "Cache hit ratio",
      "Cost per hour by provider",
      "Daily budget used",
      "Tokens by direction",
      "Circuit breaker state",
      "Key pool health",
      "Job queue depth",
      "Ledger spool and write errors",
      "Ledger dead letters (time range)",
    ]);
    for (const { panel, expr } of queries) {
      expect(undeclaredUses(expr, declared), `${panel}: ${expr}`).toEqual([]);
      expect(expr, panel).toContain('namespace="ai",job=~"ai-gateway(-blue|-green)?"');
    }
    const read = new Set(queries.flatMap(({ expr }) => promqlUses(expr).selectors.map((use) => use.metric)));
    for (const metric of [
      METRIC.requests,
      `${METRIC.requestDuration}_bucket`,
      METRIC.cacheHits,
      METRIC.cacheMisses,
      METRIC.cost,
      METRIC.budgetSpent,
      METRIC.budgetLimit,
      METRIC.circuitState,
      METRIC.keyRotations,
      METRIC.jobsQueued,
      METRIC.ledgerDeadLetters,
    ]) {
      expect(read, metric).toContain(metric);
    }
  });

  it("ships the dashboard as a ConfigMap the Grafana sidecar loads, also without the Prometheus Operator", () => {
    const configMaps = (props: Partial<GatewayMonitoringProps>) => {
      const { json } = synth((scope) => {
        const gateway = new AiGatewayService(scope, "Gateway", {
          image: "ghcr.io/acme/ai-gateway:1.0.0",
          namespace: "ai",
          environment: "development",
        });
        new GatewayMonitoring(scope, "Monitoring", { gateway, ...props });
      });
      return all(json, "kubernetes_config_map_v1").filter((body) =>
        String((body["metadata"] as Body)["name"]).endsWith("-dashboard"),
      );
    };
    const [shipped] = configMaps({ prometheusOperatorEnabled: false });
    expect(shipped?.["metadata"]).toEqual({
      name: "ai-gateway-dashboard",
      namespace: "ai",
      labels: {
        "app.kubernetes.io/part-of": "ai-deploy-kit",
        "app.kubernetes.io/name": "ai-gateway",
        grafana_dashboard: "1",
      },
    });
    expect(shipped?.["data"]).toEqual({ "ai-gateway.json": monitoring.dashboardJson });
    expect(JSON.parse(monitoring.dashboardJson)).toMatchObject({
      uid: "ai-gateway-ai-ai-gateway",
      templating: { list: [{ type: "datasource", name: "datasource", query: "prometheus" }] },
    });
    const [elsewhere] = configMaps({
      dashboardLabels: { grafana_dashboard: "ai" },
      dashboardNamespace: "monitoring",
    });
    expect(elsewhere?.["metadata"]).toMatchObject({
      namespace: "monitoring",
      labels: { grafana_dashboard: "ai" },
    });
    expect(configMaps({ dashboardEnabled: false })).toEqual([]);
  });

  it("fails when the dashboard namespace is not a namespace name", () => {
    expect(() => build({ dashboardNamespace: "Monitoring" })).toThrow(
      'GatewayMonitoring: dashboardNamespace ("Monitoring") must be an RFC 1123 label',
    );
  });

  it("fails when the error-rate threshold is above 100 percent", () => {
    expect(() => build({ errorRatePercent: 150 })).toThrow(
      "GatewayMonitoring: errorRatePercent (150) must be above 0 and at most 100",
    );
  });

  it("fails when the latency threshold is zero", () => {
    expect(() => build({ latencySeconds: 0 })).toThrow(
      "GatewayMonitoring: latencySeconds (0) must be above 0",
    );
  });

  it("fails when the latency threshold is at or above the largest duration bucket", () => {
    expect(() => build({ latencySeconds: 120 })).toThrow(
      "GatewayMonitoring: latencySeconds (120) must be below 120, the largest bucket of ai_gateway_request_duration_seconds; a p95 past it cannot be measured",
    );
    expect(build({ latencySeconds: 60 }).alerts[1]?.expr).toMatch(/ > 60$/);
  });

  it("fails when the scrape interval is too short", () => {
    expect(() => build({ scrapeIntervalSeconds: 1 })).toThrow(
      "GatewayMonitoring: scrapeIntervalSeconds (1) must be a whole number of at least 5",
    );
  });

  it("fails when the memory threshold is above 100 percent", () => {
    expect(() => build({ memoryPercent: 120 })).toThrow(
      "GatewayMonitoring: memoryPercent (120) must be above 0 and at most 100",
    );
  });

  it("fails when the token spike factor is zero", () => {
    expect(() => build({ tokenSpikeFactor: 0 })).toThrow(
      "GatewayMonitoring: tokenSpikeFactor (0) must be above 0",
    );
  });

  it("fails when the gateway has no memory limit", () => {
    const stack = new TerraformStack(Testing.app(), "test");
    const gateway = { name: "ai-gateway", namespace: "ai", portName: "http", memoryLimitBytes: Number.NaN };
    expect(() => new GatewayMonitoring(stack, "Monitoring", { gateway })).toThrow(
      "GatewayMonitoring: gateway.memoryLimitBytes (NaN) must be positive; give the gateway a memory limit",
    );
  });
});
