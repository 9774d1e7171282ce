// PROTOCOL 3, "Outbound requests": which addresses this instance may connect to. Deny by
// default: only global unicast addresses, unless the admin allowed more ranges. Addresses
// are classified by ipaddr.js, in every spelling the WHATWG URL parser and DNS can yield
// (decimal, hex and octal IPv4 become dotted quads in a URL; IPv4-mapped IPv6 is judged
// as the IPv4 address it maps).
import type { AddressPolicy } from '@mosaic-fed/core';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Network = [Address, number];

/** Options for {@link OutboundPolicy}. */
export interface OutboundPolicyOptions {
  /**
   * Ranges in CIDR notation (`127.0.0.0/8`, `10.1.0.0/16`, `fd00::/8`) this instance may
   * reach although they are loopback, private, link-local or otherwise not public. Default
   * none.
   */
  allowNetworks?: readonly string[] | undefined;
}

/** Why the policy refused a URL or an address; for the instance's own log only. */
export class OutboundRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

// IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291): ipaddr.js calls it unicast.
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** Names that always mean this machine (RFC 6761). */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

function parseNetwork(cidr: string): Network {
  try {
    return ipaddr.parseCIDR(cidr.trim());
  } catch {
    throw new TypeError(`allowNetworks: "${cidr}" is not a network in CIDR notation (such as 10.1.0.0/16)`);
  }
}

/** The address as it is routed: an IPv4-mapped IPv6 address is its IPv4 address. */
function normalise(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

/**
 * Decides which addresses outbound requests may reach. Build it once; checks are
 * synchronous and cheap.
 *
 * @example
 * ```ts
 * const policy = new OutboundPolicy({ allowNetworks: ['127.0.0.0/8'] });
 * policy.allowsAddress('169.254.169.254'); // false
 * policy.allowsAddress('127.0.0.1'); // true
 * ```
 */
export class OutboundPolicy implements AddressPolicy {
  readonly #allowed: Network[];

  constructor(options: OutboundPolicyOptions = {}) {
    this.#allowed = (options.allowNetworks ?? []).filter((cidr) => cidr.trim() !== '').map(parseNetwork);
  }

  /** Whether an IP address (any spelling ipaddr.js parses) may be connected to. */
  allowsAddress(text: string): boolean {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(text.replace(/^\[|\]$/g, ''));
    } catch {
      return false;
    }
    const address = normalise(parsed);
    if (this.#allowed.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits))) {
      return true;
    }
    if (address.kind() === 'ipv6' && address.match(IPV4_COMPATIBLE)) return false;
    return address.range() === 'unicast';
  }

  /**
   * Checks what can be judged before any name is resolved: an http(s) URL without
   * credentials whose host, if it is an address or a name for this machine, is allowed.
   * Returns the parsed URL; throws {@link OutboundRefusal}.
   */
  checkUrl(input: string | URL): URL {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new OutboundRefusal('not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusal(`${url.protocol} is not http(s)`);
    if (url.username !== '' || url.password !== '') throw new OutboundRefusal('the URL carries credentials');
    const host = url.hostname;
    if (isLocalhostName(host)) {
      if (!this.allowsAddress('127.0.0.1')) throw new OutboundRefusal(`${host} is this machine`);
    } else if (ipaddr.isValid(host.replace(/^\[|\]$/g, '')) && !this.allowsAddress(host)) {
      throw new OutboundRefusal(`${host} is not a public address`);
    }
    return url;
  }
}
