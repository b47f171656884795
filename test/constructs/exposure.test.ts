// Who may reach the gateway, where it may go, how its images are named, and the namespace's PSA level.
import { Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { AiGatewayService } from "../../constructs/kubernetes/ai-gateway-service";
import { BlueGreenGateway } from "../../constructs/kubernetes/blue-green-gateway";
import { GatewayIngress } from "../../constructs/kubernetes/gateway-ingress";
import { ENVIRONMENTS } from "../../stacks/environments";
import { EnvironmentStack } from "../../stacks/main";
import { type Body, container, named, podSpec, type Synthesized, synth } from "../helpers/synth";

const IMAGE = "ghcr.io/acme/ai-gateway:1.0.0";
const DIGEST = `sha256:${"a1".repeat(32)}`;

describe("gateway exposure", () => {
  it("admits only the namespaces and pods named, and HTTPS to the private ranges allowed by name", () => {
    const { json } = synth((scope) => {
      new AiGatewayService(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        image: IMAGE,
        ingressFromNamespaces: ["traefik"],
        ingressFromPodLabels: { role: "api-client" },
        metricsFromNamespaces: ["observability"],
        egressAllowedCidrs: ["10.20.0.0/16"],
        imagePullSecrets: ["ghcr-pull"],
      });
    });
    const spec = named(json, "kubernetes_network_policy_v1", "ai-gateway")["spec"] as Body;
    expect(spec["ingress"]).toEqual([
      {
        from: [
          { namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "traefik" } } },
          { namespace_selector: { match_labels: { "kubernetes.io/metadata.name": "observability" } } },
          { pod_selector: { match_labels: { role: "api-client" } } },
        ],
        ports: [{ port: "8080", protocol: "TCP" }],
      },
    ]);
    const https = (spec["egress"] as Body[]).find((rule) => JSON.stringify(rule["ports"]).includes('"443"'))!;
    expect(https["to"]).toEqual([
      { ip_block: { cidr: "0.0.0.0/0", except: expect.arrayContaining(["10.0.0.0/8", "169.254.0.0/16"]) } },
      { ip_block: { cidr: "10.20.0.0/16" } },
    ]);
    const deployment = named(json, "kubernetes_deployment_v1", "ai-gateway");
    expect(podSpec(deployment)["image_pull_secrets"]).toEqual([{ name: "ghcr-pull" }]);
  });

  it("takes the ingress namespaces and pull secrets from the environment's data", () => {
    const environment = {
      ...ENVIRONMENTS.production,
      gatewayIngressFromNamespaces: ["traefik"],
      metricsFromNamespaces: ["prometheus"],
      imagePullSecrets: ["ghcr-pull"],
    };
    const stack = new EnvironmentStack(Testing.app(), "production", { environment });
    const json = JSON.parse(Testing.synth(stack)) as Synthesized;
    for (const slot of ["ai-gateway-blue", "ai-gateway-green"]) {
      const ingress = (named(json, "kubernetes_network_policy_v1", slot)["spec"] as Body)[
        "ingress"
      ] as Body[];
      expect(JSON.stringify(ingress[0]!["from"])).toContain('"traefik"');
      expect(JSON.stringify(ingress[0]!["from"])).toContain('"prometheus"');
      expect(JSON.stringify(ingress[0]!["from"])).not.toContain("ingress-nginx");
      expect(podSpec(named(json, "kubernetes_deployment_v1", slot))["image_pull_secrets"]).toEqual([
        { name: "ghcr-pull" },
      ]);
    }
  });

  it("fails when an allowed CIDR is not one, naming it", () => {
    expect(() =>
      synth((scope) => {
        new AiGatewayService(scope, "Gateway", { image: IMAGE, egressAllowedCidrs: ["10.20.0.0"] });
      }),
    ).toThrow(
      'AiGatewayService: egressAllowedCidrs entry ("10.20.0.0") is not an IPv4 CIDR such as "10.20.0.0/16"',
    );
  });

  it("runs a slot pinned by digest as repository@sha256", () => {
    const { json } = synth((scope) => {
      new BlueGreenGateway(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        imageRepository: "ghcr.io/acme/ai-gateway",
        blueImageTag: DIGEST,
        greenImageTag: "1.5.0",
        minReplicas: 2,
        maxReplicas: 4,
      });
    });
    expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-blue"))["image"]).toBe(
      `ghcr.io/acme/ai-gateway@${DIGEST}`,
    );
    expect(container(named(json, "kubernetes_deployment_v1", "ai-gateway-green"))["image"]).toBe(
      "ghcr.io/acme/ai-gateway:1.5.0",
    );
  });

  it("exposes /v1 and /health over TLS from cert-manager, never /metrics", () => {
    const { json } = synth((scope) => {
      const gateway = new BlueGreenGateway(scope, "Gateway", {
        namespace: "ai",
        environment: "development",
        imageRepository: "ghcr.io/acme/ai-gateway",
        blueImageTag: "1.4.2",
        greenImageTag: "1.4.2",
        minReplicas: 2,
        maxReplicas: 4,
      });
      new GatewayIngress(scope, "Ingress", {
        gateway,
        host: "ai.example.com",
        clusterIssuer: "letsencrypt-prod",
      });
    });
    const ingress = Object.values(json.resource?.["kubernetes_ingress_v1"] ?? {})[0]!;
    expect((ingress["metadata"] as Body)["annotations"]).toMatchObject({
      "cert-manager.io/cluster-issuer": "letsencrypt-prod",
      "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
    });
    const spec = ingress["spec"] as Body;
    expect(spec["tls"]).toEqual([{ hosts: ["ai.example.com"], secret_name: "ai-gateway-tls" }]);
    const paths = ((spec["rule"] as Body[])[0]!["http"] as Body)["path"] as Body[];
    expect(paths.map((path) => path["path"])).toEqual(["/v1", "/health"]);
    expect(paths[0]!["backend"]).toEqual({ service: { name: "ai-gateway", port: { number: 8080 } } });
    expect(() =>
      synth((scope) => {
        new GatewayIngress(scope, "Ingress", {
          gateway: { namespace: "ai", serviceName: "ai-gateway", port: 8080 },
          host: "ai.example.com",
          pathPrefixes: ["/metrics"],
        });
      }),
    ).toThrow(
      'GatewayIngress: pathPrefixes entry ("/metrics") must be a path below "/" other than /metrics, for example "/v1"',
    );
  });

  it.each(["staging", "production"] as const)(
    "labels %s's namespace for Pod Security Admission restricted",
    (name) => {
      const stack = new EnvironmentStack(Testing.app(), name, { environment: ENVIRONMENTS[name] });
      const json = JSON.parse(Testing.synth(stack)) as Synthesized;
      const namespace = json.resource?.["kubernetes_namespace_v1"]?.["Namespace"] as Body;
      expect((namespace["metadata"] as Body)["labels"]).toMatchObject({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      });
      // What "restricted" demands of every pod the stack creates: non-root, RuntimeDefault seccomp,
      // no privilege escalation, every capability dropped.
      const pods = Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
        Object.values(byName).flatMap((body) => {
          if (type.startsWith("kubernetes_deployment") || type.startsWith("kubernetes_stateful_set")) {
            return [podSpec(body)];
          }
          if (type.startsWith("kubernetes_job")) return [podSpec(body)];
          if (type.startsWith("kubernetes_cron_job")) {
            return [podSpec((body["spec"] as Body)["job_template"] as Body)];
          }
          return [];
        }),
      );
      expect(pods.length).toBeGreaterThan(5);
      for (const pod of pods) {
        expect(pod["security_context"]).toMatchObject({
          run_as_non_root: true,
          seccomp_profile: { type: "RuntimeDefault" },
        });
        for (const box of [
          ...((pod["container"] as Body[]) ?? []),
          ...((pod["init_container"] as Body[]) ?? []),
        ]) {
          expect(box["security_context"]).toMatchObject({
            allow_privilege_escalation: false,
            capabilities: { drop: ["ALL"] },
          });
        }
      }
    },
  );
});
