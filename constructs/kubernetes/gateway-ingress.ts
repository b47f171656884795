import { IngressV1 } from "@cdktf/provider-kubernetes/lib/ingress-v1";
import { Construct } from "constructs";
import { checkName, PART_OF } from "./_pod";

/** Props of {@link GatewayIngress}. */
export interface GatewayIngressProps {
  /** The Service to expose: a BlueGreenGateway (its live Service) or an AiGatewayService. */
  readonly gateway: { readonly namespace: string; readonly serviceName: string; readonly port: number };
  /** The public host name, e.g. "ai.example.com". */
  readonly host: string;
  /** @default "nginx" */
  readonly ingressClassName?: string;
  /**
   * cert-manager ClusterIssuer that issues the TLS certificate (annotation `cert-manager.io/cluster-issuer`).
   * @default "letsencrypt"
   */
  readonly clusterIssuer?: string;
  /** Secret cert-manager writes the certificate to. @default "<serviceName>-tls" */
  readonly tlsSecretName?: string;
  /**
   * Path prefixes routed to the gateway; `/metrics` (it shows spend) is deliberately absent.
   * @default ["/v1", "/health"]
   */
  readonly pathPrefixes?: readonly string[];
  /** More annotations for the controller (timeouts, body size). @default {} */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An Ingress for the gateway with TLS from cert-manager: HTTPS only, the API and
 * health paths only (not `/metrics`). The gateway's NetworkPolicy admits the
 * ingress controller's namespace (`ingressFromNamespaces`, default ingress-nginx).
 */
export class GatewayIngress extends Construct {
  public readonly host: string;
  public readonly tlsSecretName: string;
  public readonly pathPrefixes: readonly string[];

  constructor(scope: Construct, id: string, props: GatewayIngressProps) {
    super(scope, id);
    this.host = props.host;
    if (!/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(this.host)) {
      throw new Error(`GatewayIngress: host ("${this.host}") must be a DNS name such as "ai.example.com"`);
    }
    this.tlsSecretName = props.tlsSecretName ?? `${props.gateway.serviceName}-tls`;
    checkName("GatewayIngress", "tlsSecretName", this.tlsSecretName);
    this.pathPrefixes = props.pathPrefixes ?? ["/v1", "/health"];
    for (const prefix of this.pathPrefixes) {
      if (!prefix.startsWith("/") || prefix === "/" || prefix.startsWith("/metrics")) {
        throw new Error(
          `GatewayIngress: pathPrefixes entry ("${prefix}") must be a path below "/" other than /metrics, for example "/v1"`,
        );
      }
    }
    new IngressV1(this, "Resource", {
      metadata: {
        name: props.gateway.serviceName,
        namespace: props.gateway.namespace,
        labels: { ...PART_OF },
        annotations: {
          "cert-manager.io/cluster-issuer": props.clusterIssuer ?? "letsencrypt",
          "nginx.ingress.kubernetes.io/ssl-redirect": "true",
          "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
          ...props.annotations,
        },
      },
      spec: {
        ingressClassName: props.ingressClassName ?? "nginx",
        tls: [{ hosts: [this.host], secretName: this.tlsSecretName }],
        rule: [
          {
            host: this.host,
            http: {
              path: this.pathPrefixes.map((path) => ({
                path,
                pathType: "Prefix",
                backend: {
                  service: { name: props.gateway.serviceName, port: { number: props.gateway.port } },
                },
              })),
            },
          },
        ],
      },
    });
  }
}
