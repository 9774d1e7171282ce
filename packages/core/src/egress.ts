// Which hosts a sandbox may reach through the orchestrator's egress proxy (PROTOCOL 3,
// grant `egress`). A rule is a host and an optional port: `registry.npmjs.org`,
// `*.pythonhosted.org` (any name below it, not the name itself), `10.0.0.5:4873`,
// `[fd00::5]:8080`. A rule without a port allows 443 and 80 only. Names are compared in
// lower case without a trailing dot. That an address is public is checked where the
// proxy connects (PROTOCOL 3, "Outbound requests"), never here.
import { z } from 'zod';

/** The ports a rule without one allows: https, then http. */
export const EGRESS_DEFAULT_PORTS: readonly number[] = [443, 80];

/** Longest rule, in characters. */
const RULE_MAX_LENGTH = 260;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]+$/;

interface ParsedRule {
  /** A lower-case name, an IPv4 address, or an IPv6 address without brackets. */
  host: string;
  /** The rule is `*.host`: names below `host` match. */
  subdomains: boolean;
  /** Undefined: {@link EGRESS_DEFAULT_PORTS}. */
  port: number | undefined;
}

/** The host as rules compare it: lower case, no trailing dot, IPv6 without brackets. */
export function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');
}

function isName(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/** Parses a rule; `undefined` when it is none. */
function parseRule(rule: string): ParsedRule | undefined {
  let host: string;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(rule);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    if (!IPV6.test(host.toLowerCase()) || !host.includes(':')) return undefined;
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else {
    const colon = rule.lastIndexOf(':');
    if (colon !== -1 && rule.indexOf(':') !== colon) return undefined; // IPv6 needs brackets
    host = colon === -1 ? rule : rule.slice(0, colon);
    if (colon !== -1) {
      const digits = rule.slice(colon + 1);
      if (!/^\d{1,5}$/.test(digits)) return undefined;
      port = Number(digits);
    }
  }
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  const subdomains = host.startsWith('*.');
  const base = canonicalHost(subdomains ? host.slice(2) : host);
  if (bracketed !== null) return subdomains ? undefined : { host: base, subdomains, port };
  if (IPV4.test(base)) return subdomains ? undefined : { host: base, subdomains, port };
  if (!isName(base) || /^[\d.]+$/.test(base)) return undefined;
  return { host: base, subdomains, port };
}

/** One rule of `egress`: `host`, `*.host`, either with `:port`; an IP address in brackets for IPv6. */
export const EgressRuleSchema = z
  .string()
  .min(1)
  .max(RULE_MAX_LENGTH)
  .refine((rule) => parseRule(rule) !== undefined, {
    message: 'must be a host name, "*." and a host name, or an IP address ([...] for IPv6), with an optional ":port"',
  });

/**
 * A configured list of rules, checked: throws a TypeError that names `setting` and the
 * first rule that is none.
 */
export function checkEgressRules(rules: readonly string[], setting: string): string[] {
  return rules.map((rule) => {
    if (!EgressRuleSchema.safeParse(rule).success) {
      throw new TypeError(`${setting}: "${rule}" is not an egress rule (such as registry.npmjs.org or *.example.com:8443)`);
    }
    return rule;
  });
}

/**
 * Whether `rules` allow a connection to `host` (a name or an IP address, as the client
 * asked for it) on `port`.
 *
 * @example
 * ```ts
 * egressAllowed(['registry.npmjs.org'], 'registry.npmjs.org', 443); // true
 * egressAllowed(['registry.npmjs.org'], 'registry.npmjs.org', 22); // false: no port given, so 443 and 80
 * egressAllowed(['*.example.com:8443'], 'a.b.example.com', 8443); // true
 * egressAllowed(['*.example.com:8443'], 'example.com', 8443); // false
 * ```
 */
export function egressAllowed(rules: readonly string[], host: string, port: number): boolean {
  const asked = canonicalHost(host);
  return rules.some((text) => {
    const rule = parseRule(text);
    if (rule === undefined) return false;
    if (rule.port === undefined ? !EGRESS_DEFAULT_PORTS.includes(port) : rule.port !== port) return false;
    return rule.subdomains ? asked.endsWith(`.${rule.host}`) : asked === rule.host;
  });
}

/** Rules of several sources in one list, each once, in the order first seen. */
export function mergeEgressRules(...lists: readonly (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((list) => list ?? []))];
}
