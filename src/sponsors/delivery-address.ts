/**
 * Where leads may be delivered. A sponsor's delivery URL must reach the public internet:
 * anyone who can create a sponsor could otherwise make this server POST into the operator's
 * own network (SSRF: databases, admin consoles, the cloud metadata service at
 * 169.254.169.254). An address is allowed only when it is public unicast; refused are
 * loopback, private (RFC 1918), link-local, unique-local, CGNAT, multicast, broadcast,
 * unspecified, IPv4-mapped/-compatible and NAT64 IPv6, documentation and other reserved ranges
 * (ipaddr.js's range table). Hosts the owner lists in `sponsors.deliveryHostAllowList` (an
 * in-house CRM on the private network) are exempt.
 *
 * Checked twice: when the URL is stored, resolving its name (the admin learns at once), and
 * at every delivery on the address actually connected to, since a name may resolve elsewhere
 * by then (DNS rebinding): names are resolved through checkedLookup(), which the delivery's
 * connection uses, and IP literals (connected without any lookup) are checked before.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export interface DeliveryHostPolicy {
  /** Host names and IP literals (lower case, IPv6 without brackets) exempt from the check. */
  allowedHosts: ReadonlySet<string>;
}

export function deliveryHostPolicy(allowList: readonly string[]): DeliveryHostPolicy {
  return { allowedHosts: new Set(allowList.map(normalizeHost)) };
}

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** The host a URL connects to, as compared with the allow-list: `http://[::1]/` → `::1`. */
export function hostOf(url: URL): string {
  return normalizeHost(url.hostname);
}

// ipaddr.js calls ::a.b.c.d "unicast"; these deprecated IPv4-compatible addresses reach IPv4.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** Why `address` (an IP literal) may not receive leads, or undefined when it is public unicast. */
export function refusedAddress(address: string): string | undefined {
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  if (range !== 'unicast') return `${address} is not a public address (${range})`;
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return `${address} is not a public address (ipv4Compatible)`;
  return undefined;
}

/** Why a URL's host may not receive leads, or undefined; resolves host names (when a sponsor's URL is stored). */
export async function refusedDeliveryHost(url: URL, policy: DeliveryHostPolicy): Promise<string | undefined> {
  const host = hostOf(url);
  if (policy.allowedHosts.has(host)) return undefined;
  if (net.isIP(host)) return refusedAddress(host);
  let addresses: dns.LookupAddress[];
  try {
    addresses = await dns.promises.lookup(host, { all: true });
  } catch (error) {
    return `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`;
  }
  const refused = addresses.map(({ address }) => refusedAddress(address)).find(Boolean);
  return refused && `${host} resolves to ${refused}`;
}

/** An IP-literal host that may not be connected to (a name is checked by checkedLookup when connecting). */
export function refusedLiteralHost(url: URL, policy: DeliveryHostPolicy): string | undefined {
  const host = hostOf(url);
  return net.isIP(host) && !policy.allowedHosts.has(host) ? refusedAddress(host) : undefined;
}

/**
 * dns.lookup for the delivery's connection that fails when any address of a host outside the
 * allow-list is not public, so the socket can only connect to addresses checked here.
 */
export function checkedLookup(policy: DeliveryHostPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const refused = policy.allowedHosts.has(normalizeHost(hostname)) ? undefined : addresses.map(({ address }) => refusedAddress(address)).find(Boolean);
      if (refused) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${refused}`), { code: 'ERR_DELIVERY_ADDRESS_REFUSED' }), '');
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
