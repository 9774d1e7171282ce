// Benchmark targets 5 and 5s, a peer: the official A2A SDK's server over JSON-RPC.
//
// Target 5 (no BENCH_A2A_SIGNED): a trivial executor that answers every message at once,
// SendMessage (v0.3's message/send), no signatures: the peer does no verification or
// signing.
//
// Target 5s (BENCH_A2A_SIGNED=1), the fair peer: every request is a compact JWS (EdDSA,
// Ed25519, the hub's key imported once, with jose, as A2A's signed cards sign) whose
// payload is the JSON-RPC request, verified before the SDK reads it; every answer is
// signed with the peer's own key the same way. Its executor creates a task and completes
// it, so SendMessage creates a task and GetTask reads one.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { CompactSign, compactVerify, importJWK } from 'jose';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

const signed = process.env.BENCH_A2A_SIGNED === '1';
const { hubPublicJwk, spokePrivateJwk } = JSON.parse(process.env.BENCH_IDENTITIES ?? '{}');

const card = {
  name: 'Bench peer',
  description: 'Answers every message at once.',
  version: '1.0.0',
  supportedInterfaces: [{ url: 'http://127.0.0.1/a2a', protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
  capabilities: { streaming: false, pushNotifications: false },
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [{ id: 'echo', name: 'Echo', description: 'Answers', tags: ['bench'] }],
};
const executor = {
  async execute(context, bus) {
    if (signed) {
      // A task, created and completed: what a spawn that ends at once is.
      const { taskId, contextId } = context;
      bus.publish(AgentEvent.task({ id: taskId, contextId, status: { state: 1, timestamp: new Date().toISOString() }, artifacts: [], history: [], metadata: undefined }));
      bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state: 3, timestamp: new Date().toISOString() }, metadata: undefined }));
    } else {
      bus.publish(AgentEvent.message({ messageId: randomUUID(), contextId: context.contextId, role: 2, parts: [{ text: 'ok' }] }));
    }
    bus.finished();
  },
  async cancelTask() {
    // Every task ends at once: there is never one to cancel.
  },
};
const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
const app = express();

if (signed) {
  // Keys imported once, as any server would.
  const hubKey = await importJWK({ ...hubPublicJwk, alg: 'EdDSA' }, 'EdDSA');
  const peerKey = await importJWK({ ...spokePrivateJwk, alg: 'EdDSA' }, 'EdDSA');
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  app.use('/a2a', express.text({ type: 'application/jose', limit: '1mb' }), async (request, response, next) => {
    try {
      const { payload } = await compactVerify(request.body, hubKey, { algorithms: ['EdDSA'] });
      request.body = JSON.parse(decoder.decode(payload));
      // What the SDK reads next is the verified JSON.
      request.headers['content-type'] = 'application/json';
    } catch {
      response.status(401).json({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'the request is not signed by the hub' } });
      return;
    }
    // Every answer leaves as a JWS by the peer's key.
    const json = response.json.bind(response);
    response.json = (body) => {
      void new CompactSign(encoder.encode(JSON.stringify(body)))
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(peerKey)
        .then((jws) => response.type('application/jose').send(jws), () => json(body));
      return response;
    };
    next();
  });
}
app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: true, port: server.address().port })));
