import { Network } from "@cdktf/provider-docker/lib/network";
import { DockerProvider } from "@cdktf/provider-docker/lib/provider";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { App, type AppConfig, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { ENVIRONMENT_NAMES } from "../app/config/defaults";
import { ENVIRONMENTS, type EnvironmentConfig } from "./environments";

/** Props of {@link EnvironmentStack}. */
export interface EnvironmentStackProps {
  readonly environment: EnvironmentConfig;
}

/** One environment's infrastructure: its provider and everything the gateway needs there. */
export class EnvironmentStack extends TerraformStack {
  /** The environment this stack deploys. */
  public readonly environment: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: EnvironmentStackProps) {
    super(scope, id);
    this.environment = props.environment;
    if (props.environment.platform === "docker") {
      new DockerProvider(this, "docker", {});
      new Network(this, "Network", { name: `${props.environment.namespace}-net` });
    } else {
      // Cluster credentials come from the kubeconfig of whoever runs `cdktf deploy`, never from code.
      const configPath = new TerraformVariable(this, "kubeconfig_path", {
        type: "string",
        default: "~/.kube/config",
        description: "Path to the kubeconfig used to reach the cluster",
      });
      const configContext = new TerraformVariable(this, "kubeconfig_context", {
        type: "string",
        default: "",
        description: "kubeconfig context; empty uses the current context",
      });
      new KubernetesProvider(this, "kubernetes", {
        configPath: configPath.stringValue,
        configContext: configContext.stringValue,
      });
      new NamespaceV1(this, "Namespace", {
        metadata: {
          name: props.environment.namespace,
          labels: { "app.kubernetes.io/part-of": "ai-deploy-kit" },
        },
      });
    }
  }
}

/** Builds the app with one stack per environment (`development`, `staging`, `production`). */
export function buildApp(config: AppConfig = {}): App {
  const app = new App(config);
  for (const name of ENVIRONMENT_NAMES) {
    new EnvironmentStack(app, name, { environment: ENVIRONMENTS[name] });
  }
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
