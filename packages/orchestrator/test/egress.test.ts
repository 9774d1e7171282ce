import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { AddressPolicy, Logger } from '@mosaic-fed/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxProvider } from '../src/index.js';
import { DockerSandboxProvider } from '../src/docker.js';
import { BubblewrapSandboxProvider, EGRESS_REFUSED, EgressProxy } from '../src/node.js';
import { dockerEngine, inCI, SANDBOX_IMAGE } from './helpers.js';

// The egress proxy (PROTOCOL 3, grant `egress`), from inside each sandbox kind that may
// hold a peer's agent: what the agent's rules allow answers; a host not in them, a
// private address and this host's own services do not; and nothing leaves but through
// the proxy. The hosts are all on this machine's loopback, which the policy here allows
// as an admin's MOSAIC_FED_ALLOW_NETWORKS=127.0.0.0/8 would; 10.0.0.0/8 it refuses.
const loopbackOnly: AddressPolicy = { allowsAddress: (address) => /^(::ffff:)?127\./.test(address) };

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}
const lines: Line[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: (message, fields) => lines.push({ level: 'info', message, fields: fields ?? {} }),
  warn: (message, fields) => lines.push({ level: 'warn', message, fields: fields ?? {} }),
  error: (message, fields) => lines.push({ level: 'error', message, fields: fields ?? {} }),
};

const work = mkdtempSync(join(tmpdir(), 'mosaic-egress-'));
const source = join(work, 'source');
let allowed: http.Server;
let other: http.Server;
let own: http.Server;
let allowedPort = 0;
let otherPort = 0;
let ownPort = 0;
let requestsToOther = 0;
let requestsToOwn = 0;
let proxy: EgressProxy;
let docker: Docker | undefined;
let bubblewrap: BubblewrapSandboxProvider | undefined;

async function listen(handler: http.RequestListener): Promise<[http.Server, number]> {
  const server = http.createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return [server, (server.address() as net.AddressInfo).port];
}

beforeAll(async () => {
  mkdirSync(source);
  writeFileSync(join(source, 'README'), 'the workspace\n');
  [allowed, allowedPort] = await listen((_req, res) => res.end('the registry answers\n'));
  [other, otherPort] = await listen((_req, res) => (requestsToOther++, res.end('not for agents\n')));
  [own, ownPort] = await listen((_req, res) => (requestsToOwn++, res.end('the federation server\n')));
  proxy = new EgressProxy({ policy: loopbackOnly, ownPorts: [ownPort], logger });
  docker = await dockerEngine();
  const candidate = new BubblewrapSandboxProvider({ orchestratorId: 'egress-tests', workspaceBytes: 64 * 1024 ** 2, tmpBytes: 16 * 1024 ** 2 });
  if (await candidate.available()) bubblewrap = candidate;
  else if (inCI) throw new Error('CI needs bubblewrap: apt-get install bubblewrap');
  else console.warn('skipping the bubblewrap egress tests: bwrap is not installed or namespaces are not allowed here');
});

afterAll(async () => {
  await proxy.close();
  await Promise.all([allowed, other, own].map((server) => new Promise((done) => server.close(done))));
  rmSync(work, { recursive: true, force: true });
});

describe('the egress proxy, from the host side', () => {
  /** Asks the gate at `socketPath` for a CONNECT tunnel to `target`; resolves with the status. */
  function connectThrough(socketPath: string, target: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request({ socketPath, method: 'CONNECT', path: target, headers: { host: target } });
      request.on('connect', (response, socket) => {
        if (response.statusCode !== 200) {
          socket.destroy();
          resolve({ status: response.statusCode ?? 0, body: '' });
          return;
        }
        // Through the tunnel, plain HTTP to the allowed server.
        let body = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        socket.on('end', () => resolve({ status: 200, body }));
        socket.write(`GET / HTTP/1.1\r\nhost: ${target}\r\nconnection: close\r\n\r\n`);
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('tunnels CONNECT to an allowed host and port, and refuses the rest with one answer', async () => {
    const gate = await proxy.open('aaaaaaaa-0000-4000-8000-000000000001', [`127.0.0.1:${allowedPort}`, `127.0.0.1:${ownPort}`, '10.0.0.1:80']);
    try {
      const tunnel = await connectThrough(gate.socketPath, `127.0.0.1:${allowedPort}`);
      expect(tunnel.status).toBe(200);
      expect(tunnel.body).toContain('the registry answers');
      for (const target of [`127.0.0.1:${otherPort}`, `127.0.0.1:${ownPort}`, '10.0.0.1:80']) {
        expect((await connectThrough(gate.socketPath, target)).status, target).toBe(403);
      }
      expect(requestsToOther).toBe(0);
      expect(requestsToOwn).toBe(0);
    } finally {
      await gate.close();
    }
  });

  it('serves no one who comes without a gate, and a closed gate is gone', async () => {
    // The proxy server itself listens on this host's loopback: a connection that came
    // through no gate is anyone's, and refused.
    const gate = await proxy.open('aaaaaaaa-0000-4000-8000-000000000002', [`127.0.0.1:${allowedPort}`]);
    await gate.close();
    await expect(connectThrough(gate.socketPath, `127.0.0.1:${allowedPort}`)).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    const refused = lines.filter((line) => line.message === 'egress refused');
    expect(refused.some((line) => line.fields.agentId === 'aaaaaaaa-0000-4000-8000-000000000001' && line.fields.port === ownPort)).toBe(true);
  });

  it('resolves names itself and connects only to an address the policy allows', async () => {
    const resolving = new EgressProxy({
      policy: loopbackOnly,
      logger,
      // A name that points at a private address and at loopback: only loopback is used.
      resolve: async (name) => (name === 'registry.test' ? ['10.9.9.9', '127.0.0.1'] : name === 'inside.test' ? ['10.9.9.9'] : []),
    });
    const gate = await resolving.open('aaaaaaaa-0000-4000-8000-000000000003', [`registry.test:${allowedPort}`, `inside.test:${allowedPort}`, `nowhere.test:${allowedPort}`]);
    try {
      const tunnel = await connectThrough(gate.socketPath, `registry.test:${allowedPort}`);
      expect(tunnel.body).toContain('the registry answers');
      expect((await connectThrough(gate.socketPath, `inside.test:${allowedPort}`)).status).toBe(403);
      expect((await connectThrough(gate.socketPath, `nowhere.test:${allowedPort}`)).status).toBe(403);
      const allowedLine = lines.find((line) => line.message === 'egress allowed' && line.fields.host === 'registry.test');
      expect(allowedLine?.fields).toMatchObject({ agentId: 'aaaaaaaa-0000-4000-8000-000000000003', address: '127.0.0.1' });
    } finally {
      await gate.close();
      await resolving.close();
    }
  });
});

describe('the egress proxy, for plain http', () => {
  /** A plain proxy request for `url` through the gate at `socketPath`. */
  function getThrough(socketPath: string, url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request({ socketPath, method: 'GET', path: url, headers: { host: new URL(url, 'http://nowhere.invalid').host } }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it('forwards an http:// request the rules allow, and refuses one that is not an absolute http:// URL, or names what does not resolve', async () => {
    const resolving = new EgressProxy({
      policy: loopbackOnly,
      logger,
      resolve: async (name) => {
        if (name === 'registry.test') return ['127.0.0.1'];
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      },
    });
    const agentId = 'aaaaaaaa-0000-4000-8000-000000000004';
    const gate = await resolving.open(agentId, [`registry.test:${allowedPort}`, `gone.test:${allowedPort}`]);
    try {
      expect(await getThrough(gate.socketPath, `http://registry.test:${allowedPort}/pkg`)).toEqual({ status: 200, body: 'the registry answers\n' });
      expect((await getThrough(gate.socketPath, `http://gone.test:${allowedPort}/pkg`)).status).toBe(403);
      // A request for a path, as to a server rather than a proxy: not forwarded anywhere.
      expect((await getThrough(gate.socketPath, '/pkg')).status).toBeGreaterThanOrEqual(400);
      const reasons = lines.filter((line) => line.message === 'egress refused' && line.fields.agentId === agentId).map((line) => line.fields.reason);
      expect(reasons).toContain('the name does not resolve');
    } finally {
      await gate.close();
      await resolving.close();
    }
  });
});

const kinds: { name: string; provider: () => SandboxProvider | undefined }[] = [
  {
    name: 'docker',
    provider: () => (docker === undefined ? undefined : new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'egress-tests', workspaceSize: '64m' })),
  },
  { name: 'bubblewrap', provider: () => bubblewrap },
];

describe.each(kinds)('from inside the $name sandbox', ({ name, provider }) => {
  it('reaches what the rules allow through the proxy, and nothing else', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) {
      if (inCI) throw new Error(`CI needs the ${name} sandbox`);
      console.warn(`skipping the ${name} egress tests: no ${name} here`);
      return context.skip();
    }
    const agentId = `bbbbbbbb-0000-4000-8000-00000000000${name === 'docker' ? 1 : 2}`;
    const gate = await proxy.open(agentId, [`127.0.0.1:${allowedPort}`, `127.0.0.1:${ownPort}`, '10.0.0.1:80']);
    const sandbox = await sandboxes.create({ agentId, source, egress: gate });
    // busybox wget crashes on these machines; nc speaks the HTTP a proxy client would,
    // and keeps its side open a moment, as a client waiting for its answer does.
    const ask = async (host: string, port: number, requestTarget: string) => {
      const request = `GET ${requestTarget} HTTP/1.0\\r\\nhost: ${host}\\r\\n\\r\\n`;
      const result = await sandbox.exec(`{ printf '${request}'; sleep 1; } | busybox nc -w 5 ${host} ${port} 2>&1; echo "exit=$?"`, { timeoutMs: 20_000 });
      return result.stdout + result.stderr;
    };
    // Through the proxy the sandbox's environment names, as npm, pip or git would go.
    const proxied = async (url: string) => {
      const { stdout } = await sandbox.exec('echo "$HTTP_PROXY"', { timeoutMs: 5_000 });
      const proxyUrl = new URL(stdout.trim());
      return ask(proxyUrl.hostname, Number(proxyUrl.port), url);
    };
    try {
      expect(await proxied(`http://127.0.0.1:${allowedPort}/`)).toContain('the registry answers');
      const refusals = [`http://127.0.0.1:${otherPort}/`, `http://127.0.0.1:${ownPort}/`, 'http://10.0.0.1/'];
      for (const url of refusals) {
        const answer = await proxied(url);
        expect(answer, url).toMatch(/^HTTP\/1\.1 403/);
        expect(answer, url).toContain(EGRESS_REFUSED);
      }
      // No route but the proxy: without it, the same allowed address is nowhere.
      const direct = await ask('127.0.0.1', allowedPort, '/');
      expect(direct).not.toContain('the registry answers');
      expect(direct).not.toContain('exit=0');
      expect(await ask('10.0.0.1', 80, '/')).not.toContain('exit=0');
      expect(requestsToOther).toBe(0);
      expect(requestsToOwn).toBe(0);
      const logged = lines.filter((line) => line.fields.agentId === agentId);
      expect(logged.some((line) => line.message === 'egress allowed' && line.fields.port === allowedPort)).toBe(true);
      expect(logged.filter((line) => line.message === 'egress refused').map((line) => line.fields.port)).toEqual(
        expect.arrayContaining([otherPort, ownPort, 80]),
      );
    } finally {
      await sandbox.destroy();
      await gate.close();
    }
  });
});
