// Benchmark target 5, a peer: the official A2A SDK's server with a trivial executor that
// answers every message at once, over JSON-RPC (SendMessage, v0.3's message/send). No
// signatures: the peer does no verification or signing.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';

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
    bus.publish(AgentEvent.message({ messageId: randomUUID(), contextId: context.contextId, role: 2, parts: [{ text: 'ok' }] }));
    bus.finished();
  },
  async cancelTask() {
    // Every message is answered at once: there is never a task to cancel.
  },
};
const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
const app = express();
app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ ready: true, port: server.address().port })));
