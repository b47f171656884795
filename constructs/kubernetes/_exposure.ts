// Who may reach the gateway and where it may go: the NetworkPolicy pieces of AiGatewayService.

/**
 * Private, shared, loopback and link-local ranges: the pod, node and cloud
 * metadata networks. The gateway's egress to "anywhere on 443" excludes them,
 * so a compromised pod cannot reach in-cluster or VPC services through it.
 */
export const NON_PUBLIC_RANGES: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
];

/** The label every namespace carries with its own name (Kubernetes 1.21+). */
const NAMESPACE_NAME = "kubernetes.io/metadata.name";

/** The ingress rule: the gateway port, from the named namespaces and pods only. */
export function gatewayIngress(options: {
  readonly port: number;
  readonly fromNamespaces: readonly string[];
  readonly fromPodLabels: Readonly<Record<string, string>> | undefined;
  readonly metricsFromNamespaces: readonly string[];
}) {
  const namespaces = [...new Set([...options.fromNamespaces, ...options.metricsFromNamespaces])];
  return [
    {
      from: [
        ...namespaces.map((name) => ({ namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: name } } })),
        ...(options.fromPodLabels ? [{ podSelector: { matchLabels: { ...options.fromPodLabels } } }] : []),
      ],
      ports: [{ port: String(options.port), protocol: "TCP" }],
    },
  ];
}

/** Egress destinations for 443 and the extra ports: public addresses, plus the CIDRs allowed by name. */
export function publicEgressTo(allowedCidrs: readonly string[]) {
  return [
    { ipBlock: { cidr: "0.0.0.0/0", except: [...NON_PUBLIC_RANGES] } },
    ...allowedCidrs.map((cidr) => ({ ipBlock: { cidr } })),
  ];
}

/** Throws unless every entry is an IPv4 CIDR. */
export function checkCidrs(owner: string, prop: string, cidrs: readonly string[]): void {
  for (const cidr of cidrs) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || Number(match[5]) > 32) {
      throw new Error(`${owner}: ${prop} entry ("${cidr}") is not an IPv4 CIDR such as "10.20.0.0/16"`);
    }
  }
}
