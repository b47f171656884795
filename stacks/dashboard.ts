import { gatewayDashboardJson } from "../constructs/kubernetes/_gateway-dashboard";
import { ENVIRONMENTS } from "./environments";

/** Where `npm run docs:dashboard` writes the dashboard, relative to the repository root. */
export const DASHBOARD_DOC = "docs/grafana-dashboard.json";

/** The dashboard docs/grafana-dashboard.json holds: the one the production stack's GatewayMonitoring ships. */
export function productionDashboardJson(): string {
  return gatewayDashboardJson({ name: "ai-gateway", namespace: ENVIRONMENTS.production.namespace });
}
