import { lookup as dnsLookupCallback, type LookupAddress } from "node:dns";
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent } from "undici";
import { type CallbackAllowList, family, parseCallbackAllowList } from "./callback-allow-list";

export { type CallbackAllowList, parseCallbackAllowList } from "./callback-allow-list";

/** Resolves a host name to every address it has (injected by tests). */
export type CallbackLookup = (hostname: string) => Promise<readonly string[]>;

/** Why an address may not receive a job callback. */
export type InternalRange = "loopback" | "private" | "link-local" | "unique-local" | "unspecified";

const RANGES: readonly [InternalRange, string, number, "ipv4" | "ipv6"][] = [
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["loopback", "::1", 128, "ipv6"],
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["unspecified", "::", 128, "ipv6"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  // Shared address space (carrier-grade NAT), routed inside providers' networks.
  ["private", "100.64.0.0", 10, "ipv4"],
  // Includes 169.254.169.254, the cloud metadata endpoint.
  ["link-local", "169.254.0.0", 16, "ipv4"],
  ["link-local", "fe80::", 10, "ipv6"],
  ["unique-local", "fc00::", 7, "ipv6"],
];

const BLOCKS = RANGES.map(([reason, network, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { reason, list };
});

// "::ffff:127.0.0.1" is 127.0.0.1: check the IPv4 address it carries.
function unmapped(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

const parsedCache = new WeakMap<readonly string[], CallbackAllowList>();

/** The allowlist of the valid entries (memoized per array; the config loader refuses invalid ones). */
export function callbackAllowList(entries: readonly string[]): CallbackAllowList {
  let list = parsedCache.get(entries);
  if (!list) {
    list = parseCallbackAllowList(entries).value;
    parsedCache.set(entries, list);
  }
  return list;
}

function rangeName(range: InternalRange): string {
  return `${range === "unspecified" ? "an" : "a"} ${range} address`;
}

/** The internal range an address falls in, if any. */
export function internalRange(address: string): InternalRange | undefined {
  const plain = unmapped(address);
  const type = family(plain);
  return BLOCKS.find((block) => block.list.check(plain, type))?.reason;
}

const defaultLookup: CallbackLookup = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Why a callback URL may not be called, or undefined when it may: its host is
 * on the allowlist, or every address it resolves to is public. Resolved on
 * every call, so a check at delivery sees DNS as it is then.
 */
export async function callbackRefusal(
  url: string,
  allow: CallbackAllowList,
  lookup: CallbackLookup = defaultLookup,
): Promise<string | undefined> {
  const host = new URL(url).hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  if (allow.hosts.has(host)) return undefined;
  const literal = isIP(host) !== 0;
  let addresses: readonly string[];
  try {
    addresses = literal ? [host] : await lookup(host);
  } catch {
    return `callbackUrl host ${host} does not resolve`;
  }
  if (addresses.length === 0) return `callbackUrl host ${host} does not resolve`;
  for (const address of addresses) {
    const plain = unmapped(address);
    if (allow.addresses.check(plain, family(plain))) continue;
    const range = internalRange(plain);
    if (range === undefined) continue;
    const kind = rangeName(range);
    const where = literal ? `is ${kind}` : `resolves to ${address}, ${kind}`;
    return `callbackUrl host ${host} ${where}; allow it with AI_CALLBACK_ALLOW_HOSTS`;
  }
  return undefined;
}

/** Whether an address may be connected to: allowed explicitly, or not internal. */
function permitted(address: string, allow: CallbackAllowList): boolean {
  const plain = unmapped(address);
  return allow.addresses.check(plain, family(plain)) || internalRange(plain) === undefined;
}

/**
 * A DNS lookup for the callback connection itself that refuses internal
 * addresses, so a host that passed the check and then re-resolves to an
 * internal address (DNS rebinding) is never connected to. Allowlisted host
 * names resolve freely.
 */
export function guardedLookup(allow: CallbackAllowList): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookupCallback(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const host = hostname.toLowerCase().replace(/\.$/, "");
      const refused = allow.hosts.has(host)
        ? undefined
        : addresses.find((entry) => !permitted(entry.address, allow));
      if (refused || addresses.length === 0) {
        const refusal: NodeJS.ErrnoException = new Error(
          refused
            ? `callbackUrl host ${host} resolves to ${refused.address}, ${rangeName(internalRange(refused.address)!)}; allow it with AI_CALLBACK_ALLOW_HOSTS`
            : `callbackUrl host ${host} does not resolve`,
        );
        refusal.code = "ECALLBACKREFUSED";
        return callback(refusal, "", 0);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

const dispatchers = new WeakMap<CallbackAllowList, Agent>();

/** The connection pool callbacks are sent through: its lookup refuses internal addresses (memoized per allowlist). */
export function callbackDispatcher(allow: CallbackAllowList): Agent {
  let agent = dispatchers.get(allow);
  if (!agent) {
    agent = new Agent({
      connect: { lookup: guardedLookup(allow) },
      // Callbacks are rare: do not hold sockets open to the hosts.
      keepAliveTimeout: 1_000,
      keepAliveMaxTimeout: 1_000,
    });
    dispatchers.set(allow, agent);
  }
  return agent;
}
