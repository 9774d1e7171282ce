import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, importSigningKey, signMessage, type SigningKey } from '@mosaic-fed/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FederationClient } from './federation-client.js';

// The SDK's side of an exchange (PROTOCOL 2), against something at the peer's address that
// answers as a peer would or would not: each way it can go wrong has its code, a retry
// only where the same message may then succeed, and what is not a peer's answer is
// answered as no answer at all.
const ME = '5a6b7c8d-0000-4000-8000-000000000001';
const PEER = '5a6b7c8d-0000-4000-8000-000000000002';
const AGENT = '5a6b7c8d-0000-4000-8000-0000000000aa';

type Answer = (claims: { jti: string }, attempt: number) => Promise<{ status: number; type: string; body: string; headers?: Record<string, string> }>;

let answer: Answer;
let attempts = 0;
let url = '';
let peerKey: SigningKey;
let strangerKey: SigningKey;
let client: FederationClient;

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    const claims = JSON.parse(Buffer.from(body.split('.')[1] ?? '', 'base64url').toString()) as { jti: string };
    void answer(claims, ++attempts).then(({ status, type, body: text, headers }) => {
      response.writeHead(status, { 'Content-Type': type, ...headers });
      response.end(text);
    });
  });
});

/** A RESPONSE to `inReplyTo`, signed by `key`. */
const reply = async (key: SigningKey, inReplyTo: string, outcome: Record<string, unknown>) => ({
  status: 200,
  type: 'application/jwt',
  body: await signMessage({ kind: 'RESPONSE', iss: PEER, aud: ME, inReplyTo, ...outcome } as Parameters<typeof signMessage>[0], key),
});

beforeAll(async () => {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const me = await generateKeyPair();
  const peer = await generateKeyPair();
  peerKey = await importSigningKey(peer.privateJwk);
  strangerKey = await importSigningKey((await generateKeyPair()).privateJwk);
  client = await FederationClient.create({
    instanceId: ME,
    signingKey: await importSigningKey(me.privateJwk),
    peer: { instanceId: PEER, url, keys: [peer.publicJwk] },
    retries: 1,
    backoffMs: 1,
  });
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));
beforeEach(() => {
  attempts = 0;
});

describe('FederationClient against what answers at a peer address', () => {
  it('needs a pinned key or a resolver for the peer', async () => {
    const { privateJwk } = await generateKeyPair();
    await expect(FederationClient.create({ instanceId: ME, signingKey: await importSigningKey(privateJwk), peer: { instanceId: PEER, url, keys: [] } })).rejects.toThrow(
      'the peer needs at least one pinned key',
    );
  });

  it("takes the peer's signed answer: many statuses in one message", async () => {
    answer = (claims) => reply(peerKey, claims.jti, { success: true, data: { agents: [], notFound: [AGENT] } });
    expect(await client.statuses([AGENT])).toEqual({ agents: [], notFound: [AGENT] });
  });

  it('answers a page that is no peer as no answer at all, without retrying it; a gateway error is retried once', async () => {
    answer = async () => ({ status: 200, type: 'text/html', body: '<html>a login page</html>' });
    await expect(client.status(AGENT)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', message: 'the peer could not be reached' });
    expect(attempts).toBe(1);
    attempts = 0;
    answer = async () => ({ status: 503, type: 'text/html', body: 'upstream down' });
    await expect(client.status(AGENT)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(attempts).toBe(2);
  });

  it("takes a peer's plain JSON refusal of a message it could not authenticate", async () => {
    answer = async () => ({ status: 401, type: 'application/json', body: JSON.stringify({ success: false, code: 'UNKNOWN_KEY', error: 'that key is not known here' }) });
    await expect(client.status(AGENT)).rejects.toMatchObject({ code: 'UNKNOWN_KEY', message: 'that key is not known here' });
    expect(attempts).toBe(1);
  });

  it('refuses an answer signed with a key it has not pinned, or one that answers another message', async () => {
    answer = (claims) => reply(strangerKey, claims.jti, { success: true, data: {} });
    await expect(client.status(AGENT)).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    answer = () => reply(peerKey, '5a6b7c8d-0000-4000-8000-0000000000ff', { success: true, data: {} });
    await expect(client.status(AGENT)).rejects.toMatchObject({
      code: 'MALFORMED_MESSAGE',
      message: 'the peer answered with something other than the response to this message',
    });
    expect(attempts).toBe(2);
  });

  it('asks again, with the same message, while the peer is still executing it', async () => {
    const seen: string[] = [];
    answer = (claims, attempt) => {
      seen.push(claims.jti);
      return attempt === 1
        ? reply(peerKey, claims.jti, { success: false, code: 'MESSAGE_IN_PROGRESS', error: 'still running' }).then((r) => ({ ...r, status: 409, headers: { 'Retry-After': '0' } }))
        : reply(peerKey, claims.jti, { success: true, data: { agents: [], notFound: [AGENT] } });
    };
    expect(await client.statuses([AGENT])).toEqual({ agents: [], notFound: [AGENT] });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
  });
});
