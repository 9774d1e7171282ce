// The egress proxy: the one way out of a sandbox. Each agent gets a gate, a unix socket on
// the host that its sandbox reaches as an HTTP proxy on its own loopback (sandboxes/egress.ts).
// Behind the gates runs one proxy-chain server (Apify's maintained Node proxy: HTTP
// forwarding and CONNECT tunnels), bound to this host's loopback, which obeys only
// connections that come through a gate. For each request it checks the agent's rules
// (core's `egressAllowed`), resolves the name itself, keeps only the addresses the
// outbound policy allows (PROTOCOL 3, "Outbound requests": no loopback, private or
// link-local address unless the admin allowed the range) and never this host's own
// services, and connects to the address it checked. Every connection is logged with the
// agent's id; every refusal gets one answer, `403`, whatever the reason.
import { lookup } from 'node:dns/promises';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { egressAllowed, silentLogger, type AddressPolicy, type Logger } from '@mosaic-fed/core';
import { RequestError, Server, type PrepareRequestFunctionOpts, type PrepareRequestFunctionResult } from 'proxy-chain';

export interface EgressProxyOptions {
  /** Which addresses may be connected to: the server's `OutboundPolicy`. */
  policy: AddressPolicy;
  /**
   * Ports of this host's own services (the federation server, the orchestrator service):
   * never reached on a loopback or local address, whatever an agent's rules say.
   */
  ownPorts?: readonly number[];
  /** Where the gates' sockets are made (mode 0711). Default `mosaic-fed-egress` in the temp directory. */
  root?: string;
  /** Resolves a name to its addresses. Default: the system resolver (`dns.lookup`, every address). */
  resolve?: (hostname: string) => Promise<string[]>;
  logger?: Logger;
}

/** An agent's way out: connect to `socketPath` and speak HTTP proxy. */
export interface EgressGate {
  readonly agentId: string;
  readonly socketPath: string;
  /** Closes the socket and every connection through it. Safe to call twice. */
  close(): Promise<void>;
}

/** What every refused connection is told. */
export const EGRESS_REFUSED = "this sandbox's egress rules do not allow that host and port, or it cannot be reached";

interface OpenGate {
  agentId: string;
  rules: readonly string[];
  /** No keep-alive: a socket to one host is never handed to another request. */
  agent: http.Agent;
}

const resolveAll = async (hostname: string): Promise<string[]> =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * The egress proxy of one orchestrator. Start nothing until the first gate opens.
 *
 * @example
 * ```ts
 * const egress = new EgressProxy({ policy: new OutboundPolicy(), ownPorts: [4747] });
 * const gate = await egress.open(agentId, ['registry.npmjs.org']);
 * // ... a sandbox created with { egress: gate } ...
 * await gate.close();
 * await egress.close();
 * ```
 */
export class EgressProxy {
  readonly #o: EgressProxyOptions;
  readonly #logger: Logger;
  /** Open gates, by the local port of the connection each made to the proxy server. */
  readonly #byPort = new Map<number, OpenGate>();
  /** Allowed connections in flight, by proxy-chain's connection id, for the log line at their end. */
  readonly #connections = new Map<number, { agentId: string; host: string; port: number }>();
  #server: Promise<{ proxy: Server; port: number }> | undefined;
  #proxyPort: number | undefined;

  constructor(options: EgressProxyOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Opens a gate for `agentId` that allows what `rules` allow (core's `EgressRuleSchema`). */
  async open(agentId: string, rules: readonly string[]): Promise<EgressGate> {
    const { port } = await this.#start();
    const root = this.#o.root ?? join(tmpdir(), 'mosaic-fed-egress');
    await mkdir(root, { recursive: true, mode: 0o711 });
    await chmod(root, 0o711);
    const dir = await mkdtemp(join(root, `${agentId.slice(0, 8)}-`));
    await chmod(dir, 0o711);
    const socketPath = join(dir, 'proxy.sock');
    const gate: OpenGate = { agentId, rules: [...rules], agent: new http.Agent({ keepAlive: false }) };
    const pipes = new Set<net.Socket>();
    // Half-open both ways: a client that has sent all of its request still gets the answer.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      pipes.add(client);
      const upstream = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      pipes.add(upstream);
      let localPort: number | undefined;
      upstream.once('connect', () => {
        localPort = upstream.localPort;
        if (localPort !== undefined) this.#byPort.set(localPort, gate);
        client.pipe(upstream).pipe(client);
      });
      const end = () => {
        if (localPort !== undefined && this.#byPort.get(localPort) === gate) this.#byPort.delete(localPort);
        pipes.delete(client);
        pipes.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o600);
    let closed: Promise<void> | undefined;
    return {
      agentId,
      socketPath,
      close: () => {
        closed ??= (async () => {
          for (const socket of pipes) socket.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          gate.agent.destroy();
          await rm(dir, { recursive: true, force: true });
        })();
        return closed;
      },
    };
  }

  /** Stops the proxy server and every connection through it. Gates still open stop working. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await (await server).proxy.close(true);
  }

  #start(): Promise<{ proxy: Server; port: number }> {
    this.#server ??= (async () => {
      const proxy = new Server({ port: 0, host: '127.0.0.1', prepareRequestFunction: (request) => this.#decide(request) });
      proxy.on('connectionClosed', ({ connectionId, stats }: { connectionId: number; stats?: { trgTxBytes: number | null; trgRxBytes: number | null } }) => {
        const connection = this.#connections.get(connectionId);
        if (connection === undefined) return;
        this.#connections.delete(connectionId);
        this.#logger.info('egress connection closed', { ...connection, sentBytes: stats?.trgTxBytes ?? 0, receivedBytes: stats?.trgRxBytes ?? 0 });
      });
      await proxy.listen();
      const address = proxy.server.address();
      if (address === null || typeof address === 'string') throw new Error('the egress proxy has no port');
      this.#proxyPort = address.port;
      return { proxy, port: address.port };
    })();
    return this.#server;
  }

  async #decide({ request, hostname, port, isHttp, connectionId }: PrepareRequestFunctionOpts): Promise<PrepareRequestFunctionResult> {
    const gate = this.#byPort.get(request.socket.remotePort ?? -1);
    const refuse = (reason: string): never => {
      this.#logger.warn('egress refused', { agentId: gate?.agentId ?? 'none', host: hostname, port, reason });
      throw new RequestError(EGRESS_REFUSED, 403);
    };
    if (gate === undefined) return refuse('the connection came through no gate');
    // Plain requests are forwarded for http only; https goes through CONNECT, end to end.
    if (isHttp && !/^http:\/\//i.test(request.url ?? '')) return refuse('not an http:// request');
    if (!egressAllowed(gate.rules, hostname, port)) return refuse('not in the agent’s egress rules');
    const literal = hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: string[];
    if (net.isIP(literal) !== 0) {
      addresses = [literal];
    } else {
      try {
        addresses = await (this.#o.resolve ?? resolveAll)(hostname);
      } catch {
        return refuse('the name does not resolve');
      }
    }
    const allowed = addresses.filter((address) => this.#o.policy.allowsAddress(address) && !this.#isOwnService(address, port));
    const address = allowed[0];
    if (address === undefined) return refuse(`it resolves to no allowed address (${addresses.join(', ') || 'none'})`);
    this.#connections.set(connectionId, { agentId: gate.agentId, host: hostname, port });
    this.#logger.info('egress allowed', { agentId: gate.agentId, host: hostname, port, address });
    const family = net.isIP(address);
    return {
      httpAgent: gate.agent,
      // The connection goes to the address checked here, whatever the name resolves to next.
      dnsLookup: ((_name: string, options: unknown, callback?: unknown) => {
        const done = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
        const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
        if (all) done(null, [{ address, family }]);
        else done(null, address, family);
      }) as NonNullable<PrepareRequestFunctionResult['dnsLookup']>,
    };
  }

  /** Whether `address:port` is one of this host's own services (or the proxy itself). */
  #isOwnService(address: string, port: number): boolean {
    const ports = [...(this.#o.ownPorts ?? []), ...(this.#proxyPort === undefined ? [] : [this.#proxyPort])];
    if (!ports.includes(port)) return false;
    return isLocalAddress(address);
  }
}

/** Loopback, unspecified, or an address of one of this host's interfaces. */
function isLocalAddress(address: string): boolean {
  const bare = address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  if (bare.startsWith('127.') || bare === '::1' || bare === '0.0.0.0' || bare === '::') return true;
  return Object.values(networkInterfaces()).some((entries) => entries?.some((entry) => entry.address.toLowerCase() === bare) === true);
}
