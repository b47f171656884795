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
import type { Construct } from "constructs";
import {
  accessLabel,
  componentLabels,
  containerSecurityContext,
  podSecurityContext,
  resources,
  selectorLabels,
} from "./_pod";

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
