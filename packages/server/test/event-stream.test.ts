import { spawningStatus } from '@mosaic-fed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createFederation } from '../src/app.js';
import { createAdminToken } from '../src/auth/admin-tokens.js';
import { InMemoryEventBus } from '../src/replicas/event-bus.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import { agentStatusEvent } from './helpers.js';

// An agent's event stream (PROTOCOL 6) as its reader sees it: the events as they come,
// and a comment line when nothing has been written for a while, by the app's own clock.
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

async function streamOfAgent() {
  let clock = 0;
  const stores = createInMemoryStores();
  const events = new InMemoryEventBus();
  const federation = createFederation({ url: 'https://hub.example.com', secret: 'an-event-stream-test-secret-0123456789', stores, events, monotonic: () => clock });
  const agentId = crypto.randomUUID();
  const spawnedAt = '2026-11-25T12:00:00.000Z';
  await stores.remoteAgents.create({
    agentId,
    connectionId: crypto.randomUUID(),
    peerInstanceId: crypto.randomUUID(),
    taskId: 't',
    agentType: 'worker',
    status: spawningStatus({ agentId, taskId: 't', agentType: 'worker', spawnedAt }),
    sequence: 0,
    createdAt: spawnedAt,
  });
  const { token } = await createAdminToken({ store: stores.adminTokens, label: 'tests', actor: { type: 'cli', id: 'test' }, now: () => new Date() });
  const response = await federation.app.request(`/api/v1/federation/agents/${agentId}/events`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  if (response.body === null) throw new Error('the stream has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  closing.push(() => reader.cancel());
  /** The next chunk the stream writes. */
  const next = async () => (await reader.read()).value ?? '';
  return { agentId, stores, events, next, advance: (ms: number) => void (clock += ms) };
}

describe('an agent\'s event stream', () => {
  it('writes an event as soon as it is published, with its sequence as the id', async () => {
    const { agentId, stores, events, next } = await streamOfAgent();
    const event = agentStatusEvent(agentId, 1);
    expect(await stores.remoteAgents.applyEvent(agentId, event)).toBe('applied');
    await events.publish(agentId, event);
    const written = await next();
    expect(written).toContain('event: agent.status.changed');
    expect(written).toContain('id: 1');
    expect(JSON.parse(/^data: (.*)$/m.exec(written)?.[1] ?? 'null')).toEqual(event);
  });

  it('keeps a quiet stream open with a comment once 15 s have passed on its clock', async () => {
    const { next, advance } = await streamOfAgent();
    // No real 15 s go by: the stream reads the app's clock at its next look (every 2 s).
    advance(15_000);
    expect(await next()).toBe(': keep-alive\n\n');
  });
});
