import type { AgentStatusChangedPayload, AgentsOverview, Connection, FederationError, InstanceConfiguration } from '@mosaic-fed/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AdminClient } from './admin-client.js';

// These tests replace the network with an injected fetch, to produce what a real server
// rarely does on demand (a stream cut mid-way, a broken answer). The client against real
// instances is tested in packages/node/test/admin-client.test.ts.
const agentId = '2b7f3c52-8a4e-4a0b-9d3e-5c1f0e6a7b21';

function statusEvent(sequence: number, status: AgentStatusChangedPayload['status']): AgentStatusChangedPayload {
  return {
    agentId,
    taskId: 'task-1',
    agentType: 'worker',
    status,
    attempt: 1,
    spawnedAt: '2026-11-25T10:00:00.000Z',
    startedAt: status === 'spawning' ? null : '2026-11-25T10:00:01.000Z',
    completedAt: status === 'completed' ? '2026-11-25T10:00:02.000Z' : null,
    progress: null,
    result: status === 'completed' ? { summary: 'done' } : null,
    error: null,
    sequence,
  };
}

function sse(...events: AgentStatusChangedPayload[]): string {
  return events.map((e) => `id: ${e.sequence}\nevent: agent.status.changed\ndata: ${JSON.stringify(e)}\n\n`).join('');
}

/** A fetch that answers each call with the next scripted response and records the requests. */
function scriptedFetch(...responses: (() => Response)[]) {
  const requests: Request[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    requests.push(request);
    const next = responses.shift();
    if (next === undefined) throw new TypeError('fetch failed: connection refused');
    return next();
  };
  return { fetch: fetchImpl, requests };
}

const streamOf = (text: string) => () => new Response(text, { headers: { 'Content-Type': 'text/event-stream' } });

describe('AdminClient', () => {
  it('refuses options it cannot work with', () => {
    expect(() => new AdminClient({ url: 'not a url', token: 't' })).toThrow(TypeError);
    expect(() => new AdminClient({ url: 'http://127.0.0.1:1', token: '' })).toThrow(TypeError);
  });

  it('sends the bearer token and rebuilds a protocol error with its code, details and Retry-After', async () => {
    const body = { success: false, error: 'the body does not match', code: 'VALIDATION_FAILED', details: [{ path: 'name', message: 'too long' }] };
    const { fetch, requests } = scriptedFetch(
      () => Response.json(body, { status: 400 }),
      () => Response.json({ success: false, error: 'slow down', code: 'RATE_LIMITED' }, { status: 429, headers: { 'Retry-After': '3' } }),
    );
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch });
    const invalid = (await client.updateInstance({ name: 'x'.repeat(101) }).catch((e: unknown) => e)) as FederationError;
    expect(invalid).toMatchObject({ name: 'FederationError', code: 'VALIDATION_FAILED', details: body.details });
    expect(requests[0]?.headers.get('authorization')).toBe('Bearer mfa_x');
    expect(requests[0]?.method).toBe('PATCH');
    expect(new URL(requests[0]?.url ?? '').pathname).toBe('/api/v1/federation/instance');
    await expect(client.connections()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 3 });
  });

  it('spawns under one Idempotency-Key, sent again with it when the instance or the peer could not answer (PROTOCOL 6)', async () => {
    const spawned = { agentId, state: 'spawning', spawnedAt: '2026-11-25T10:00:00.000Z' };
    const request = { connectionId: '7d1b8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e', payload: { taskId: 't', agentType: 'worker' as const, context: { repository: 'git.example.com/o/r', branch: 'main' } } };
    const { fetch, requests } = scriptedFetch(
      () => {
        throw new TypeError('fetch failed: connection reset');
      },
      () => Response.json({ success: false, error: 'the peer could not be reached', code: 'PEER_UNAVAILABLE' }, { status: 503, headers: { 'Retry-After': '0' } }),
      () => Response.json({ success: true, data: spawned }, { status: 201 }),
      () => Response.json({ success: false, error: 'no', code: 'FORBIDDEN' }, { status: 403 }),
    );
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch });
    expect(await client.spawn(request)).toEqual(spawned);
    const keys = requests.map((r) => r.headers.get('idempotency-key'));
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    // A refusal is not retried; a given key is the one sent.
    await expect(client.spawn(request, { idempotencyKey: 'my-key-1' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(requests.map((r) => r.headers.get('idempotency-key')).slice(3)).toEqual(['my-key-1']);
  });

  it('turns an answer that breaks the schema into MALFORMED_MESSAGE, and a dead host into PEER_UNAVAILABLE', async () => {
    const { fetch } = scriptedFetch(() => Response.json({ success: true, data: { instanceId: 'nope' } }));
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch });
    await expect(client.instance()).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(client.instance()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', status: 503, message: expect.stringContaining('could not be reached') });
  });

  it('reopens a dropped event stream with Last-Event-ID, without losing or repeating an event', async () => {
    const { fetch, requests } = scriptedFetch(
      // The first connection drops after two events, the second in the middle of one.
      streamOf(sse(statusEvent(1, 'spawning'), statusEvent(2, 'running'))),
      streamOf(`${sse(statusEvent(3, 'running'))}id: 4\nevent: agent.status.changed\ndata: {"cut`),
      () => {
        throw new TypeError('fetch failed: connection reset');
      },
      streamOf(sse(statusEvent(4, 'completed'), statusEvent(5, 'completed'))),
    );
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch });
    const seen: number[] = [];
    for await (const event of client.events(agentId, { reconnectDelayMs: 1 })) seen.push(event.sequence);
    // Ends at the first terminal status.
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(requests.map((r) => r.headers.get('last-event-id'))).toEqual([null, '2', '3', '3']);
    expect(requests[0]?.headers.get('accept')).toBe('text/event-stream');
  });

  it('ends quietly on 204 (nothing after Last-Event-ID); refuses what is not an event stream; gives up after repeated failures', async () => {
    const ended = scriptedFetch(() => new Response(null, { status: 204 }));
    const quiet = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch: ended.fetch });
    const events: unknown[] = [];
    for await (const event of quiet.events(agentId, { lastEventId: 9 })) events.push(event);
    expect(events).toEqual([]);
    expect(ended.requests[0]?.headers.get('last-event-id')).toBe('9');

    const html = scriptedFetch(() => new Response('<html></html>', { headers: { 'Content-Type': 'text/html' } }));
    const proxy = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch: html.fetch });
    await expect(proxy.events(agentId).next()).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });

    const down = scriptedFetch();
    const unreachable = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch: down.fetch });
    const iterator = unreachable.events(agentId, { reconnectDelayMs: 1, maxReconnects: 2 });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(down.requests).toHaveLength(3);
  });

  it('stops an event stream when its signal aborts', async () => {
    const controller = new AbortController();
    const { fetch } = scriptedFetch(streamOf(sse(statusEvent(1, 'spawning'))), streamOf(sse(statusEvent(2, 'running'))));
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x', fetch });
    const seen: number[] = [];
    for await (const event of client.events(agentId, { signal: controller.signal, reconnectDelayMs: 60_000 })) {
      seen.push(event.sequence);
      controller.abort();
    }
    expect(seen).toEqual([1]);
  });

  it('has answers typed from core\'s schemas', () => {
    const client = new AdminClient({ url: 'http://hub.test', token: 'mfa_x' });
    expectTypeOf(client.instance).returns.resolves.toEqualTypeOf<InstanceConfiguration>();
    expectTypeOf(client.connect).returns.resolves.toEqualTypeOf<Connection>();
    expectTypeOf(client.agents).returns.resolves.toEqualTypeOf<AgentsOverview>();
    expectTypeOf(client.events).returns.toEqualTypeOf<AsyncGenerator<AgentStatusChangedPayload, void, undefined>>();
    expectTypeOf(client.spawn).parameter(0).toHaveProperty('connectionId').toEqualTypeOf<string>();
  });
});
