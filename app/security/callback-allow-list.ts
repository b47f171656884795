// The allowlist's parsing, apart from the guard: the config loader (and with it the
// constructs library, which checks gateway settings at synth) needs it without undici.
import { BlockList, isIP } from "node:net";

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `AI_CALLBACK_ALLOW_HOSTS` parsed: host names, addresses and CIDR ranges callbacks may reach though internal. */
export interface CallbackAllowList {
  readonly hosts: ReadonlySet<string>;
  readonly addresses: BlockList;
}

/** The BlockList family of an IP address. */
export function family(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

/**
 * Validates and parses the allowlist entries: a host name (`hooks.internal`),
 * an IP address (`127.0.0.1`, `::1`) or a CIDR range (`10.0.0.0/8`). Returns
 * the list of the valid entries and a problem naming each bad one.
 */
export function parseCallbackAllowList(entries: readonly string[]): {
  value: CallbackAllowList;
  problems: string[];
} {
  const hosts = new Set<string>();
  const addresses = new BlockList();
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, "$1");
    const [network = "", prefix, ...rest] = entry.split("/");
    if (prefix !== undefined) {
      const bits = Number(prefix);
      const max = isIP(network) === 6 ? 128 : 32;
      if (rest.length > 0 || isIP(network) === 0 || !/^\d+$/.test(prefix) || bits > max) {
        problems.push(`"${raw}" is not a valid CIDR range; expected for example 10.0.0.0/8 or fd00::/8`);
      } else addresses.addSubnet(network, bits, family(network));
    } else if (isIP(entry) !== 0) addresses.addAddress(entry, family(entry));
    else if (HOST_NAME.test(entry.replace(/\.$/, ""))) hosts.add(entry.replace(/\.$/, ""));
    else problems.push(`"${raw}" is not a host name, IP address or CIDR range`);
  }
  return { value: { hosts, addresses }, problems };
}
