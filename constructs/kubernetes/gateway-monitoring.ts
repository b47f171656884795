import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { Construct } from "constructs";
import { DURATION_BUCKETS_SECONDS, METRIC, PROCESS_METRIC } from "../../app/observability/metric-names";
import { applyKitDefaults } from "../_kit-defaults";
import { gatewayDashboardJson, gatewaySelector } from "./_gateway-dashboard";
import { checkNamespace, PART_OF } from "./_pod";
import { METRICS_LABEL } from "./ai-gateway-service";

const OWNER = "GatewayMonitoring";

/** What GatewayMonitoring reads from a gateway: an {@link AiGatewayService} or a BlueGreenGateway. */
export interface MonitoredGateway {
  readonly name: string;
  readonly namespace: string;
  readonly portName: string;
  readonly memoryLimitBytes: number;
}

/** One Prometheus alerting rule. */
export interface GatewayAlert {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition holds before firing, e.g. `5m`. */
  readonly for: string;
  readonly severity: "critical" | "warning";
  readonly summary: string;
  /** Anchor in the runbook, appended to `runbookBaseUrl`. */
  readonly runbook: string;
}

/** Props of {@link GatewayMonitoring}. */
export interface GatewayMonitoringProps {
  /** The gateway to scrape and alert on. */
  readonly gateway: MonitoredGateway;
  /**
   * Create the ServiceMonitor and PrometheusRule; turn off where the Prometheus Operator CRDs are absent.
   * @default true
   */
  readonly prometheusOperatorEnabled?: boolean;
  /** @default 30 */
  readonly scrapeIntervalSeconds?: number;
  /**
   * Error-rate threshold, percent of requests answered 5xx or with a degraded 200 apology
   * (`AI_DEGRADED_REPLY`) (the guide: 5). @default 5
   */
  readonly errorRatePercent?: number;
  /**
   * p95 latency threshold in seconds (the guide: 10); below the duration histogram's largest bucket
   * (120 s), past which `histogram_quantile` cannot tell. @default 10
   */
  readonly latencySeconds?: number;
  /**
   * Resident memory threshold, percent of the container limit (the guide: 80). The limit is the
   * gateway's `memoryLimitBytes`, written into the rule at synth (no kube-state-metrics needed); a
   * changed limit changes the rule in the same deploy. @default 80
   */
  readonly memoryPercent?: number;
  /** Token rate over the last 15 minutes, as a multiple of the last day's average, that counts as a spike. @default 3 */
  readonly tokenSpikeFactor?: number;
  /** Where the runbook lives; each alert links `<url>#<alert-anchor>`. @default "https://github.com/ai-deploy-kit/ai-deploy-kit/blob/main/docs/runbooks.md" */
  readonly runbookBaseUrl?: string;
  /** Labels the Prometheus instance selects rules and monitors by (kube-prometheus-stack: `release`). @default {} */
  readonly prometheusSelectorLabels?: Readonly<Record<string, string>>;
  /**
   * Ship the Grafana dashboard as a ConfigMap the Grafana sidecar loads (a plain ConfigMap: no CRD
   * needed, so also without the Prometheus Operator).
   * @default true
   */
  readonly dashboardEnabled?: boolean;
  /** Labels the Grafana sidecar selects dashboard ConfigMaps by. @default { grafana_dashboard: "1" } */
  readonly dashboardLabels?: Readonly<Record<string, string>>;
  /**
   * Namespace of the dashboard ConfigMap: one the sidecar searches (kube-prometheus-stack: Grafana's
   * own unless `sidecar.dashboards.searchNamespace` is ALL). @default - the gateway's namespace
   */
  readonly dashboardNamespace?: string;
  /**
   * The Secret key holding the gateway's `METRICS_TOKEN`, for clusters without network policies in
   * front of `/metrics`: the ServiceMonitor then scrapes with `Authorization: Bearer <token>`. The
   * Secret must be in the gateway's namespace and must hold the key (with `AppSecrets`:
   * `{ name: secrets.secretName, key: "METRICS_TOKEN" }`).
   * @default - no token: `/metrics` is scraped without one (set no `METRICS_TOKEN` then)
   */
  readonly metricsTokenSecret?: { readonly name: string; readonly key: string };
}

/**
 * A ServiceMonitor and PrometheusRule with the guide's alerts, and a Grafana dashboard ConfigMap,
 * built only from metric names the gateway exports.
 */
export class GatewayMonitoring extends Construct {
  public readonly prometheusOperatorEnabled: boolean;
  public readonly scrapeIntervalSeconds: number;
  public readonly errorRatePercent: number;
  public readonly latencySeconds: number;
  public readonly memoryPercent: number;
  public readonly tokenSpikeFactor: number;
  public readonly runbookBaseUrl: string;
  public readonly dashboardEnabled: boolean;
  public readonly dashboardLabels: Readonly<Record<string, string>>;
  public readonly dashboardNamespace: string;
  /** The Grafana dashboard's JSON, also when the ConfigMap is off (import it by hand). */
  public readonly dashboardJson: string;
  /** The rules, also when the operator is off (export them to another Prometheus). */
  public readonly alerts: readonly GatewayAlert[];

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    applyKitDefaults(this);
    this.prometheusOperatorEnabled = props.prometheusOperatorEnabled ?? true;
    this.scrapeIntervalSeconds = props.scrapeIntervalSeconds ?? 30;
    this.errorRatePercent = props.errorRatePercent ?? 5;
    this.latencySeconds = props.latencySeconds ?? 10;
    this.memoryPercent = props.memoryPercent ?? 80;
    this.tokenSpikeFactor = props.tokenSpikeFactor ?? 3;
    this.runbookBaseUrl =
      props.runbookBaseUrl ?? "https://github.com/ai-deploy-kit/ai-deploy-kit/blob/main/docs/runbooks.md";
    this.dashboardEnabled = props.dashboardEnabled ?? true;
    this.dashboardLabels = props.dashboardLabels ?? { grafana_dashboard: "1" };
    this.dashboardNamespace = props.dashboardNamespace ?? props.gateway.namespace;
    this.checkThresholds(props.gateway);
    checkNamespace(OWNER, this.dashboardNamespace, "dashboardNamespace");
    this.alerts = gatewayAlerts(this, props.gateway);
    this.dashboardJson = gatewayDashboardJson(props.gateway);

    const labels = { ...PART_OF, "app.kubernetes.io/name": "ai-gateway", ...props.prometheusSelectorLabels };
    if (this.prometheusOperatorEnabled) {
      this.addServiceMonitor(props.gateway, labels, props.metricsTokenSecret);
      this.addRules(props.gateway, labels);
    }
    if (this.dashboardEnabled) this.addDashboard(props.gateway);
  }

  /** Thresholds in range, a scrape interval Prometheus can keep, a memory limit to alert against. */
  private checkThresholds(gateway: MonitoredGateway): void {
    for (const [prop, value, max] of [
      ["errorRatePercent", this.errorRatePercent, 100],
      ["memoryPercent", this.memoryPercent, 100],
      ["latencySeconds", this.latencySeconds, Number.POSITIVE_INFINITY],
      ["tokenSpikeFactor", this.tokenSpikeFactor, Number.POSITIVE_INFINITY],
    ] as const) {
      if (!(value > 0 && value <= max)) {
        throw new Error(
          `${OWNER}: ${prop} (${value}) must be above 0${max === 100 ? " and at most 100" : ""}`,
        );
      }
    }
    const largestBucket = Math.max(...DURATION_BUCKETS_SECONDS);
    if (this.latencySeconds >= largestBucket) {
      throw new Error(
        `${OWNER}: latencySeconds (${this.latencySeconds}) must be below ${largestBucket}, the largest bucket of ${METRIC.requestDuration}; a p95 past it cannot be measured`,
      );
    }
    if (!Number.isInteger(this.scrapeIntervalSeconds) || this.scrapeIntervalSeconds < 5) {
      throw new Error(
        `${OWNER}: scrapeIntervalSeconds (${this.scrapeIntervalSeconds}) must be a whole number of at least 5`,
      );
    }
    if (!(gateway.memoryLimitBytes > 0)) {
      throw new Error(
        `${OWNER}: gateway.memoryLimitBytes (${gateway.memoryLimitBytes}) must be positive; give the gateway a memory limit`,
      );
    }
  }

  /** The ServiceMonitor: every gateway Service labelled with METRICS_LABEL, on its `/metrics`. */
  private addServiceMonitor(
    gateway: MonitoredGateway,
    labels: Record<string, string>,
    token: GatewayMonitoringProps["metricsTokenSecret"],
  ): void {
    const { name, namespace } = gateway;
    new Manifest(this, "ServiceMonitor", {
      manifest: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name, namespace, labels },
        spec: {
          selector: { matchLabels: { [METRICS_LABEL]: name } },
          namespaceSelector: { matchNames: [namespace] },
          endpoints: [
            {
              port: gateway.portName,
              path: "/metrics",
              interval: `${this.scrapeIntervalSeconds}s`,
              ...(token
                ? { authorization: { type: "Bearer", credentials: { name: token.name, key: token.key } } }
                : {}),
            },
          ],
        },
      },
    });
  }

  /** The PrometheusRule: the alerts, each with its severity and runbook link. */
  private addRules(gateway: MonitoredGateway, labels: Record<string, string>): void {
    const { name, namespace } = gateway;
    new Manifest(this, "Resource", {
      manifest: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name, namespace, labels },
        spec: {
          groups: [
            {
              name: `${name}.rules`,
              rules: this.alerts.map((rule) => ({
                alert: rule.alert,
                expr: rule.expr,
                for: rule.for,
                labels: { severity: rule.severity },
                annotations: {
                  summary: rule.summary,
                  runbook_url: `${this.runbookBaseUrl}#${rule.runbook}`,
                },
              })),
            },
          ],
        },
      },
    });
  }

  /** The dashboard ConfigMap the Grafana sidecar loads, labelled with `dashboardLabels`. */
  private addDashboard(gateway: MonitoredGateway): void {
    new ConfigMapV1(this, "Dashboard", {
      metadata: {
        name: `${gateway.name}-dashboard`,
        namespace: this.dashboardNamespace,
        labels: { ...PART_OF, "app.kubernetes.io/name": "ai-gateway", ...this.dashboardLabels },
      },
      data: { [`${gateway.name}.json`]: this.dashboardJson },
    });
  }
}

/** The guide's alerts for `gateway`, with the thresholds `monitoring` resolved. */
function gatewayAlerts(monitoring: GatewayMonitoring, gateway: MonitoredGateway): GatewayAlert[] {
  const sel = gatewaySelector(gateway);
  const rate = (metric: string, extra = "", window = "5m") =>
    `sum(rate(${metric}{${sel}${extra ? `,${extra}` : ""}}[${window}]))`;
  return [
    {
      alert: "AiGatewayHighErrorRate",
      // Degraded replies are 200s to the client but failures all the same. `or vector(0)`: a
      // counter with labels has no series until first counted, and `x + nothing` is nothing.
      expr: `((${rate(METRIC.requests, 'status=~"5.."')} or vector(0)) + (${rate(METRIC.degradedReplies)} or vector(0))) / clamp_min(${rate(METRIC.requests)}, 1e-9) > ${monitoring.errorRatePercent / 100}`,
      for: "5m",
      severity: "critical",
      summary: `More than ${monitoring.errorRatePercent}% of chat requests fail (5xx or degraded reply)`,
      runbook: "high-error-rate",
    },
    {
      alert: "AiGatewayHighLatency",
      expr: `histogram_quantile(0.95, sum by (le) (rate(${METRIC.requestDuration}_bucket{${sel}}[5m]))) > ${monitoring.latencySeconds}`,
      for: "10m",
      severity: "critical",
      summary: `p95 chat latency above ${monitoring.latencySeconds} s`,
      runbook: "high-latency",
    },
    {
      alert: "AiGatewayBudgetExceeded",
      expr: `max(${METRIC.budgetSpent}{${sel}}) >= max(${METRIC.budgetLimit}{${sel}}) and max(${METRIC.budgetLimit}{${sel}}) > 0`,
      for: "1m",
      severity: "critical",
      summary: "Spend today reached the daily budget",
      runbook: "budget-exceeded",
    },
    {
      alert: "AiGatewayBudgetNearlySpent",
      expr: `max(${METRIC.budgetSpent}{${sel}}) >= 0.8 * max(${METRIC.budgetLimit}{${sel}}) and max(${METRIC.budgetLimit}{${sel}}) > 0`,
      for: "1m",
      severity: "warning",
      summary: "Spend today passed 80% of the daily budget",
      runbook: "budget-exceeded",
    },
    {
      alert: "AiGatewayCircuitBreakerOpen",
      expr: `max by (provider) (${METRIC.circuitState}{${sel}}) == 2`,
      for: "1m",
      severity: "critical",
      summary: "A provider's circuit breaker is open",
      runbook: "circuit-breaker-open",
    },
    {
      alert: "AiGatewayProviderFailover",
      expr: `sum by (from, to) (increase(${METRIC.fallbacks}{${sel}}[5m])) > 0`,
      for: "0m",
      severity: "critical",
      summary: "Requests are failing over to a backup provider",
      runbook: "provider-failover",
    },
    {
      alert: "AiGatewayHighMemory",
      expr: `max by (pod) (${PROCESS_METRIC.residentMemory}{${sel}}) / ${gateway.memoryLimitBytes} > ${monitoring.memoryPercent / 100}`,
      for: "10m",
      severity: "warning",
      summary: `A gateway pod uses more than ${monitoring.memoryPercent}% of its memory limit`,
      runbook: "high-memory",
    },
    {
      alert: "AiGatewayTokenUsageSpike",
      expr: `${rate(METRIC.tokens, "", "15m")} > ${monitoring.tokenSpikeFactor} * ${rate(METRIC.tokens, "", "1d")} and ${rate(METRIC.tokens, "", "15m")} > 10`,
      for: "15m",
      severity: "warning",
      summary: `Token usage is more than ${monitoring.tokenSpikeFactor}x the daily average`,
      runbook: "token-usage-spike",
    },
    {
      alert: "AiGatewayLedgerSpooling",
      expr: `max(${METRIC.ledgerSpoolDepth}{${sel}}) > 0`,
      for: "10m",
      severity: "warning",
      summary:
        "Ledger rows have waited in a pod's local spool for 10 minutes (the ledger database is unreachable)",
      runbook: "ledger-spooling",
    },
    {
      alert: "AiGatewayLedgerDeadLetters",
      expr: `sum(increase(${METRIC.ledgerDeadLetters}{${sel}}[15m])) > 0`,
      for: "0m",
      severity: "critical",
      summary: "The ledger database refused rows for their data; they are in the dead-letter file, unbilled",
      runbook: "ledger-dead-letters",
    },
    {
      alert: "AiGatewayLedgerWriteErrors",
      expr: `sum(rate(${METRIC.ledgerWriteErrors}{${sel}}[5m])) > 0`,
      for: "5m",
      severity: "warning",
      summary: "Ledger writes have been failing for 5 minutes",
      runbook: "ledger-write-errors",
    },
  ];
}
