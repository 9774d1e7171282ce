// Benchmark target 2, the crypto limit: a bare Hono route that verifies an EdDSA JWT with
// a key imported once and signs a reply. Nothing else a federation message costs.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { importSigningKey, importVerificationKey, signMessage, verifyMessage } from '@mosaic-fed/core';

const { hubId, spokeId, hubPublicJwk, spokePrivateJwk } = JSON.parse(process.env.BENCH_IDENTITIES ?? '{}');
const hubKey = await importVerificationKey(hubPublicJwk);
const spokeKey = await importSigningKey(spokePrivateJwk);
const resolveKey = () => ({ key: hubKey, instanceId: hubId });

const app = new Hono().post('/', async (c) => {
  const { message } = await verifyMessage(await c.req.text(), { audience: spokeId, resolveKey });
  const reply = await signMessage({ kind: 'RESPONSE', iss: spokeId, aud: hubId, inReplyTo: message.jti, success: true, data: { ok: true } }, spokeKey);
  return c.body(reply, 200, { 'Content-Type': 'application/jwt' });
});
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => console.log(JSON.stringify({ ready: true, port: info.port })));
