import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundFetch, OutboundPolicy, silentLogger, UNREACHABLE_MESSAGE } from '@mosaic-fed/server';
import { createResolvingFetch } from '../src/resolving-fetch.js';
import { startPeer, type Peer } from './peers.js';

// PROTOCOL 3, "Outbound requests", through real instances and servers on loopback. The
// addresses tried are all on this machine (127.0.0.0/8); an outbound request never goes
// anywhere else.

interface Target {
  url: string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}

/** A server that counts what reaches it and answers with `answer`. */
async function startTarget(host: string, answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<Target> {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    answer(request, response);
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const json = (body: unknown) => (_request: IncomingMessage, response: ServerResponse) => {
  response.setHeader('Content-Type', 'application/json');
  response.end(JSON.stringify(body));
};

let strict: Peer; // calls nothing but public addresses
let loopbackOnly: Peer; // may call 127.0.0.1, and nothing else on this machine
let targets: Target[] = [];

beforeAll(async () => {
  [strict, loopbackOnly] = await Promise.all([
    startPeer({ name: 'Strict', allowNetworks: [] }),
    startPeer({ name: 'Loopback', allowNetworks: ['127.0.0.1/32'], federation: { outbound: { timeoutMs: 1_500 } } }),
  ]);
});

afterAll(async () => {
  await Promise.all([strict?.destroy(), loopbackOnly?.destroy(), ...targets.map((t) => t.close())]);
});

async function target(host: string, answer: Parameters<typeof startTarget>[1]) {
  const started = await startTarget(host, answer);
  targets.push(started);
  return started;
}

/** What an admin of `peer` is told when asking it to connect to `url`. */
async function connectAnswer(peer: Peer, url: string) {
  const result = await peer.api('/api/v1/federation/connections', { body: { url } });
  return { status: result.status, body: result.body };
}

describe('POST /connections: the server never calls where it must not', () => {
  it('refuses loopback in every spelling without sending it anything, with one uniform answer', async () => {
    const listener = await target('127.0.0.1', json({ protocol: 'mosaic-federation/1' }));
    const spellings = [
      `http://127.0.0.1:${listener.port}`,
      `http://127.1:${listener.port}`,
      `http://2130706433:${listener.port}`,
      `http://0x7f000001:${listener.port}`,
      `http://0177.0.0.1:${listener.port}`,
      `http://[::ffff:127.0.0.1]:${listener.port}`,
      `http://localhost:${listener.port}`,
      `https://127.0.0.1:${listener.port}`,
    ];
    const answers = await Promise.all(spellings.map((url) => connectAnswer(strict, url)));
    for (const answer of answers) {
      expect(answer).toEqual({ status: 503, body: { success: false, code: 'PEER_UNAVAILABLE', error: UNREACHABLE_MESSAGE } });
    }
    expect(listener.hits).toEqual([]);
    expect((await strict.api<unknown[]>('/api/v1/federation/connections')).body.data).toEqual([]);
  });

  it('answers a closed port, an open one, a redirect, a refused address, a huge and a silent answer alike', async () => {
    const elsewhere = await target('127.0.0.2', json({}));
    const notFound = await target('127.0.0.1', (_request, response) => {
      response.statusCode = 404;
      response.end('<html>not here</html>');
    });
    const notAnInstance = await target('127.0.0.1', json({ hello: 'world' }));
    const redirect = await target('127.0.0.1', (_request, response) => {
      response.statusCode = 302;
      response.setHeader('Location', `${elsewhere.url}/.well-known/mosaic-federation`);
      response.end();
    });
    const huge = await target('127.0.0.1', (_request, response) => {
      response.setHeader('Content-Type', 'application/json');
      response.end(`{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    });
    const silent = await target('127.0.0.1', () => undefined);
    const closed = await target('127.0.0.1', json({}));
    await closed.close();
    targets = targets.filter((t) => t !== closed);

    const urls = [closed.url, notFound.url, notAnInstance.url, redirect.url, elsewhere.url, huge.url, silent.url];
    const answers = await Promise.all(urls.map((url) => connectAnswer(loopbackOnly, url)));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ status: 503, body: { success: false, code: 'PEER_UNAVAILABLE', error: UNREACHABLE_MESSAGE } });
    // The redirect was not followed, and the address outside the allowed range never called.
    expect(redirect.hits).toEqual(['GET /.well-known/mosaic-federation']);
    expect(elsewhere.hits).toEqual([]);
  });
});

describe('the Node transport resolves names itself and connects only to what it checked', () => {
  const resolvingTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses a name that resolves to a refused address, without connecting', async () => {
    const listener = await target('127.0.0.1', json({ ok: true }));
    const policy = new OutboundPolicy();
    const outbound = createOutboundFetch({ policy, transport: createResolvingFetch(policy, { lookup: resolvingTo('127.0.0.1') }), logger: silentLogger });
    await expect(outbound(`http://peer.test:${listener.port}/`)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: UNREACHABLE_MESSAGE });
    expect(listener.hits).toEqual([]);
  });

  it('connects to the allowed address of a name and never to the refused one beside it', async () => {
    const allowed = await target('127.0.0.1', json({ ok: true }));
    const refused = await target('127.0.0.3', json({ ok: false }));
    const policy = new OutboundPolicy({ allowNetworks: ['127.0.0.1/32'] });
    // The refused address comes first, as a rebinding resolver would put it.
    let lookups = 0;
    const lookup = async () => {
      lookups++;
      return [
        { address: '127.0.0.3', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
    };
    const outbound = createOutboundFetch({ policy, transport: createResolvingFetch(policy, { lookup }), logger: silentLogger });
    for (let i = 0; i < 3; i++) {
      // However often the connection is made or reused, only the checked address is used.
      const response = await outbound(`http://peer.test:${allowed.port}/${i}`);
      expect(await response.json()).toEqual({ ok: true });
    }
    expect(allowed.hits).toEqual(['GET /0', 'GET /1', 'GET /2']);
    expect(refused.hits).toEqual([]);
    expect(lookups).toBeGreaterThanOrEqual(1);
  });

  it("uses the system's resolver by default: localhost is loopback, refused unless allowed; a name that resolves to nothing fails alike", async () => {
    const listener = await target('127.0.0.1', json({ ok: true }));
    const strict = new OutboundPolicy();
    const refused = createOutboundFetch({ policy: strict, transport: createResolvingFetch(strict), logger: silentLogger });
    await expect(refused(`http://localhost:${listener.port}/`)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: UNREACHABLE_MESSAGE });
    expect(listener.hits).toEqual([]);
    // .invalid never resolves (RFC 6761): the lookup's error, in the same uniform answer.
    await expect(refused('http://peer.invalid/')).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: UNREACHABLE_MESSAGE });

    // IPv4 loopback only: the target listens there, whichever order the system lists localhost's addresses in.
    const loopback = new OutboundPolicy({ allowNetworks: ['127.0.0.0/8'] });
    const allowed = createOutboundFetch({ policy: loopback, transport: createResolvingFetch(loopback), logger: silentLogger });
    expect(await (await allowed(`http://localhost:${listener.port}/local`)).json()).toEqual({ ok: true });
    expect(listener.hits).toEqual(['GET /local']);
  });

  it('cuts an answer off at its size cap, even one that declares no length', async () => {
    const chunked = await target('127.0.0.1', (_request, response) => {
      response.write('x'.repeat(64 * 1024));
      response.end('y'.repeat(64 * 1024));
    });
    const policy = new OutboundPolicy({ allowNetworks: ['127.0.0.1/32'] });
    const outbound = createOutboundFetch({ policy, transport: createResolvingFetch(policy), maxResponseBytes: 100 * 1024, logger: silentLogger });
    const response = await outbound(chunked.url);
    await expect(response.text()).rejects.toThrow();
  });
});
