// The shape every data service shares: a one-replica StatefulSet with a PVC
// template, headless and client Services, a PDB and a NetworkPolicy that
// admits only pods carrying the service's access label.

import { NetworkPolicyV1 } from "@cdktf/provider-kubernetes/lib/network-policy-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import {
  StatefulSetV1,
  type StatefulSetV1SpecTemplateSpecContainer,
  type StatefulSetV1SpecTemplateSpecVolume,
} from "@cdktf/provider-kubernetes/lib/stateful-set-v1";
import type { TerraformVariable } from "cdktf";
import { Construct } from "constructs";
import { applyKitDefaults } from "../_kit-defaults";
import {
  accessLabel,
  checkImage,
  checkInteger,
  checkName,
  checkNamespace,
  checkResources,
  componentLabels,
  containerSecurityContext,
  podSecurityContext,
  resources,
  selectorLabels,
} from "./_pod";
import type { DataServicePeer } from "./data-services";
import { SecretSource } from "./secret-source";

/** What a data service construct passes to {@link statefulDataService}. */
export interface DataServiceSpec {
  readonly name: string;
  readonly namespace: string;
  readonly component: string;
  readonly image: string;
  readonly port: number;
  readonly portName: string;
  readonly uid: number;
  readonly storageGiB: number;
  readonly storageClassName: string | undefined;
  readonly dataMountPath: string;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
  readonly container: Pick<
    StatefulSetV1SpecTemplateSpecContainer,
    "command" | "args" | "env" | "livenessProbe" | "readinessProbe" | "startupProbe"
  >;
  /** Writable mounts besides the data volume (emptyDirs, config). */
  readonly mounts: readonly {
    readonly volume: StatefulSetV1SpecTemplateSpecVolume;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }[];
}

/** Creates the StatefulSet (`Resource`), `Headless` and `Service`, `DisruptionBudget` and `NetworkPolicy` under `scope`. */
export function statefulDataService(scope: Construct, spec: DataServiceSpec): StatefulSetV1 {
  const labels = componentLabels(spec.name, spec.component);
  const selector = selectorLabels(spec.name, spec.component);
  const metadata = { name: spec.name, namespace: spec.namespace, labels };
  const port = { name: spec.portName, port: spec.port, targetPort: spec.portName, protocol: "TCP" };

  new ServiceV1(scope, "Headless", {
    metadata: { ...metadata, name: `${spec.name}-headless` },
    spec: { clusterIp: "None", publishNotReadyAddresses: true, selector, port: [port] },
  });
  new ServiceV1(scope, "Service", {
    metadata,
    spec: { type: "ClusterIP", selector, port: [port] },
  });

  const statefulSet = new StatefulSetV1(scope, "Resource", {
    // Volume claim templates are immutable: a new storageGiB sizes volumes created from now on and
    // existing ones grow by PVC expansion (docs/operations.md "Growing a volume"), never by replacing the StatefulSet.
    lifecycle: { ignoreChanges: ["spec[0].volume_claim_template"] },
    metadata,
    spec: {
      serviceName: `${spec.name}-headless`,
      replicas: "1",
      podManagementPolicy: "OrderedReady",
      selector: { matchLabels: selector },
      updateStrategy: [{ type: "RollingUpdate" }],
      persistentVolumeClaimRetentionPolicy: [{ whenDeleted: "Retain", whenScaled: "Retain" }],
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: podSecurityContext(spec.uid),
          container: [
            {
              name: spec.component,
              image: spec.image,
              imagePullPolicy: "IfNotPresent",
              ...spec.container,
              port: [{ name: spec.portName, containerPort: spec.port, protocol: "TCP" }],
              resources: resources(spec.cpuRequest, spec.memoryRequest, spec.cpuLimit, spec.memoryLimit),
              securityContext: containerSecurityContext(spec.uid),
              volumeMount: [
                { name: "data", mountPath: spec.dataMountPath },
                ...spec.mounts.map((mount) => ({
                  name: String(mount.volume.name),
                  mountPath: mount.mountPath,
                  readOnly: mount.readOnly ?? false,
                })),
              ],
            },
          ],
          volume: spec.mounts.map((mount) => mount.volume),
        },
      },
      volumeClaimTemplate: [
        {
          metadata: { name: "data", labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(spec.storageClassName ? { storageClassName: spec.storageClassName } : {}),
            resources: { requests: { storage: `${spec.storageGiB}Gi` } },
          },
        },
      ],
    },
  });

  new PodDisruptionBudgetV1(scope, "DisruptionBudget", {
    metadata,
    spec: { maxUnavailable: "1", selector: { matchLabels: selector } },
  });

  new NetworkPolicyV1(scope, "NetworkPolicy", {
    metadata,
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: accessLabel(spec.name) } }],
          ports: [{ port: String(spec.port), protocol: "TCP" }],
        },
      ],
      // Data services call nothing; DNS only.
      egress: [
        {
          ports: [
            { port: "53", protocol: "UDP" },
            { port: "53", protocol: "TCP" },
          ],
        },
      ],
    },
  });
  return statefulSet;
}

/** The props every data service construct accepts (each documents its own defaults). */
export interface DataServiceProps {
  readonly name?: string;
  readonly namespace?: string;
  readonly image?: string;
  readonly storageGiB?: number;
  readonly storageClassName?: string;
  readonly cpuRequest?: string;
  readonly memoryRequest?: string;
  readonly cpuLimit?: string;
  readonly memoryLimit?: string;
}

/** A data service's defaults, its component and the class name its errors start with. */
export interface DataServiceDefaults {
  readonly owner: string;
  readonly component: string;
  readonly name: string;
  readonly image: string;
  readonly storageGiB: number;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

/** What a subclass adds to the shared fields to build its StatefulSet. */
export type DataServiceContainerSpec = Omit<
  DataServiceSpec,
  | "name"
  | "namespace"
  | "component"
  | "image"
  | "storageGiB"
  | "storageClassName"
  | "cpuRequest"
  | "memoryRequest"
  | "cpuLimit"
  | "memoryLimit"
>;

/** Base of the data service constructs: resolves and checks their shared props and derives the names clients use. */
export abstract class DataService extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly image: string;
  public readonly storageGiB: number;
  public readonly storageClassName: string | undefined;
  /** Client Service DNS name. */
  public readonly host: string;
  /** Labels a pod needs for the NetworkPolicy to admit it. */
  public readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Labels selecting the service's pods (for clients' egress rules). */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** Clients reach the service's pods in the cluster (IDataService). */
  public readonly egressPeers: readonly DataServicePeer[];
  private readonly owner: string;
  private readonly component: string;
  protected readonly cpuRequest: string;
  protected readonly memoryRequest: string;
  protected readonly cpuLimit: string;
  protected readonly memoryLimit: string;

  /** Resolves the shared props and checks name, image and storage (resources wait for {@link checkResources}). */
  protected constructor(
    scope: Construct,
    id: string,
    props: DataServiceProps,
    defaults: DataServiceDefaults,
  ) {
    super(scope, id);
    applyKitDefaults(this);
    this.owner = defaults.owner;
    this.component = defaults.component;
    this.name = props.name ?? defaults.name;
    this.namespace = props.namespace ?? "default";
    this.image = props.image ?? defaults.image;
    this.storageGiB = props.storageGiB ?? defaults.storageGiB;
    this.storageClassName = props.storageClassName;
    this.cpuRequest = props.cpuRequest ?? defaults.cpuRequest;
    this.memoryRequest = props.memoryRequest ?? defaults.memoryRequest;
    this.cpuLimit = props.cpuLimit ?? defaults.cpuLimit;
    this.memoryLimit = props.memoryLimit ?? defaults.memoryLimit;

    checkName(this.owner, "name", this.name);
    checkNamespace(this.owner, this.namespace);
    checkImage(this.owner, "image", this.image);
    checkInteger(
      this.owner,
      "storageGiB",
      this.storageGiB,
      1,
      `give the volume size in GiB, for example ${defaults.storageGiB}`,
    );
    this.host = `${this.name}.${this.namespace}.svc.cluster.local`;
    this.clientPodLabels = accessLabel(this.name);
    this.selectorLabels = selectorLabels(this.name, this.component);
    this.egressPeers = [{ podSelector: { matchLabels: this.selectorLabels } }];
  }

  /** Checks the requests and limits; a subclass calls it where its own checks want it. */
  protected checkResources(): void {
    checkResources(this.owner, this.cpuRequest, this.memoryRequest, this.cpuLimit, this.memoryLimit);
  }

  /** Refuses AWS Secrets Manager, then binds the secret (default: Terraform variables) under the `Auth` child. */
  protected bindSecret(options: {
    readonly prop: string;
    readonly source: SecretSource | undefined;
    readonly key: string;
    readonly describe: () => string;
  }): { readonly secretName: string; readonly variable: TerraformVariable | undefined } {
    const source = options.source ?? SecretSource.fromTerraformVariables();
    if (source.kind === "aws-secrets-manager") {
      throw new Error(
        `${this.owner}: ${options.prop} (SecretSource.fromAwsSecretsManager) is not supported; use SecretSource.fromTerraformVariables() or SecretSource.fromExistingSecret(name)`,
      );
    }
    const bound = source.bind(new Construct(this, "Auth"), {
      secretName: `${this.name}-auth`,
      namespace: this.namespace,
      keys: [options.key],
      defaultPrefix: this.name,
      describe: options.describe,
      urlSafe: true,
    });
    return { secretName: bound.secretName ?? `${this.name}-auth`, variable: bound.variables[options.key] };
  }

  /** Creates the StatefulSet and its companions ({@link statefulDataService}) from the shared fields and `spec`. */
  protected createStatefulSet(spec: DataServiceContainerSpec): StatefulSetV1 {
    return statefulDataService(this, {
      name: this.name,
      namespace: this.namespace,
      component: this.component,
      image: this.image,
      storageGiB: this.storageGiB,
      storageClassName: this.storageClassName,
      cpuRequest: this.cpuRequest,
      memoryRequest: this.memoryRequest,
      cpuLimit: this.cpuLimit,
      memoryLimit: this.memoryLimit,
      ...spec,
    });
  }
}
