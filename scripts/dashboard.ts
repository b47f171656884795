// npm run docs:dashboard
// Writes the Grafana dashboard the production stack ships (GatewayMonitoring's ConfigMap) to
// docs/grafana-dashboard.json, for a Grafana without the sidecar; test/stacks/dashboard-doc.test.ts
// fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { DASHBOARD_DOC, productionDashboardJson } from "../stacks/dashboard";

writeFileSync(DASHBOARD_DOC, productionDashboardJson());
process.stdout.write(`${DASHBOARD_DOC} written\n`);
