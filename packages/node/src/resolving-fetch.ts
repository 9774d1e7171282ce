// The outbound transport on Node (PROTOCOL 3, "Outbound requests"): undici's fetch on an
// Agent whose connections resolve names here, drop every address the policy refuses, and
// connect to the addresses that were checked: the name is never resolved a second time,
// so there is no window for DNS rebinding. Used under createOutboundFetch, which checks
// URLs whose host is an address (those are connected to without a lookup).
import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';
import { OutboundRefusal, type OutboundPolicy } from '@mosaic-fed/server';

/** The shape of `dns.lookup` with `all: true`: every address of a name. */
export type LookupAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

/** Options for {@link createResolvingFetch}. */
export interface ResolvingFetchOptions {
  /** Resolves a name; default the system resolver (`dns.lookup`). */
  lookup?: LookupAll;
  /** Time to establish a connection, in milliseconds. Default 10,000. */
  connectTimeoutMs?: number;
}

const lookupAll: LookupAll = (hostname, family) =>
  new Promise((done, fail) =>
    systemLookup(hostname, { all: true, family }, (error, addresses) => (error ? fail(error) : done(addresses))),
  );

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `fetch` for Node that connects only to addresses `policy` allows, as resolved at
 * connect time.
 *
 * @example
 * ```ts
 * const policy = new OutboundPolicy({ allowNetworks: ['10.1.0.0/16'] });
 * const outbound = createOutboundFetch({ policy, transport: createResolvingFetch(policy), logger });
 * ```
 */
export function createResolvingFetch(policy: OutboundPolicy, options: ResolvingFetchOptions = {}): typeof fetch {
  const resolve = options.lookup ?? lookupAll;
  const checkedLookup = (hostname: string, lookupOptions: LookupOptions, callback: LookupCallback) => {
    resolve(hostname, typeof lookupOptions.family === 'number' ? lookupOptions.family : 0).then(
      (addresses) => {
        const allowed = addresses.filter((entry) => policy.allowsAddress(entry.address));
        const first = allowed[0];
        if (first === undefined) {
          callback(new OutboundRefusal(`${hostname} resolves to no address this instance may reach`), '');
        } else if (lookupOptions.all === true) {
          callback(null, allowed);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: Error) => callback(error, ''),
    );
  };
  const agent = new Agent({ connect: { lookup: checkedLookup, timeout: options.connectTimeoutMs ?? 10_000 } });
  // undici's fetch and the platform's agree on the web types this project uses; their
  // declarations differ only in undici's own copies of them.
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    })) as unknown as typeof fetch;
}
