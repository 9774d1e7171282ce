import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { AgentSpawnPayloadSchema, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createLibsqlAgentStateStore } from '../src/libsql.js';
import { AgentLifecycle } from '../src/lifecycle.js';
import type { AgentStateStore } from '../src/state/types.js';

// The lifecycle's compare-and-set from what it last knew, and its watchers fed from memory,
// checked against a real libSQL file that two lifecycles share, as two processes would:
// what one writes, the other only finds in the store.
const dir = mkdtempSync(join(tmpdir(), 'mosaic-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The store, with its reads counted. */
function counted(store: AgentStateStore) {
  const reads = { get: 0, events: 0 };
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'get' || property === 'events') reads[property] += 1;
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { store: wrapped, reads };
}

async function setup() {
  const store = await createLibsqlAgentStateStore(createClient({ url: `file:${join(dir, `${randomUUID()}.db`)}` }));
  const here = counted(store);
  const now = () => new Date();
  // Polls far apart: whatever a watcher sees within a test, it did not poll for.
  const lifecycle = new AgentLifecycle({ state: here.store, now, watchPollMs: 60_000, rememberEventsOf: 10 });
  const elsewhere = new AgentLifecycle({ state: store, now, watchPollMs: 60_000 });
  const agentId = randomUUID();
  const spec = AgentSpawnPayloadSchema.parse({ taskId: 't', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } });
  await lifecycle.create({ agentId, ownerInstanceId: randomUUID(), spec });
  return { lifecycle, elsewhere, agentId, reads: here.reads };
}

async function collect(events: AsyncIterable<AgentStatusChangedPayload>) {
  const seen: Pick<AgentStatusChangedPayload, 'sequence' | 'status'>[] = [];
  for await (const { sequence, status } of events) seen.push({ sequence, status });
  return seen;
}

describe('the agent lifecycle', () => {
  it("moves an agent from what it last wrote, and hands its watchers the changes it makes without reading them back", async () => {
    const { lifecycle, agentId, reads } = await setup();
    const watched = collect(lifecycle.watch(agentId));
    const running = await lifecycle.move(agentId, (status) => ({ ...status, status: 'running', startedAt: new Date().toISOString() }));
    expect(running).toMatchObject({ sequence: 2, status: { status: 'running' } });
    const completed = await lifecycle.move(agentId, (status) => ({ ...status, status: 'completed', completedAt: new Date().toISOString() }));
    expect(completed).toMatchObject({ sequence: 3, status: { status: 'completed' } });
    expect(await watched).toEqual([
      { sequence: 1, status: 'spawning' },
      { sequence: 2, status: 'running' },
      { sequence: 3, status: 'completed' },
    ]);
    expect(reads).toEqual({ get: 0, events: 0 });
    // Once its last watcher saw it end, a new watcher reads its events from the store.
    expect(await collect(lifecycle.watch(agentId, { afterSequence: 1 }))).toHaveLength(2);
    expect(reads.events).toBe(1);
  });

  it('reads what another writer did between two of its own changes, and its watchers get every change in order', async () => {
    const { lifecycle, elsewhere, agentId } = await setup();
    const seen: number[] = [];
    const watched = (async () => {
      for await (const event of lifecycle.watch(agentId)) seen.push(event.sequence);
    })();
    await expect.poll(() => seen).toEqual([1]);
    // Another process starts it; this one, still thinking it spawning, misses its
    // compare-and-set, reads, and writes on top.
    await elsewhere.move(agentId, (status) => ({ ...status, status: 'running' }));
    const progress = await lifecycle.move(agentId, (status) => ({ ...status, progress: { turns: 1 } }));
    expect(progress).toMatchObject({ sequence: 3, status: { status: 'running', progress: { turns: 1 } } });
    await lifecycle.move(agentId, (status) => ({ ...status, status: 'completed' }));
    await watched;
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('judges a refusal on the stored agent, never on a stale guess', async () => {
    const { lifecycle, elsewhere, agentId } = await setup();
    await elsewhere.move(agentId, (status) => ({ ...status, status: 'running' }));
    // From what it wrote, this one believes the agent is spawning, where this change does nothing.
    const waiting = await lifecycle.move(agentId, (status) => (status.status === 'running' ? { ...status, status: 'waiting' } : status));
    expect(waiting).toMatchObject({ sequence: 3, status: { status: 'waiting' } });
  });

  it('lets a kill made elsewhere win over a move made from a stale guess', async () => {
    const { lifecycle, elsewhere, agentId } = await setup();
    await lifecycle.move(agentId, (status) => ({ ...status, status: 'running' }));
    await elsewhere.kill(agentId);
    expect(await lifecycle.move(agentId, (status) => ({ ...status, status: 'completed' }))).toBeUndefined();
    expect((await lifecycle.get(agentId)).status.status).toBe('killed');
    expect(await lifecycle.fail(agentId, 'late')).toBe(false);
  });

  it('wakes its watchers at once when told of a change made elsewhere, and they read it from the store', async () => {
    const { lifecycle, elsewhere, agentId } = await setup();
    const seen: string[] = [];
    const watched = (async () => {
      for await (const event of lifecycle.watch(agentId)) seen.push(event.status);
    })();
    await expect.poll(() => seen).toEqual(['spawning']);
    await elsewhere.kill(agentId);
    lifecycle.notify(agentId);
    await watched;
    expect(seen).toEqual(['spawning', 'killed']);
  });

  it('answers NOT_FOUND to a watcher of an unknown agent, from the start or from a later sequence', async () => {
    const { lifecycle } = await setup();
    await expect(collect(lifecycle.watch(randomUUID()))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(collect(lifecycle.watch(randomUUID(), { afterSequence: 3 }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('ends a watch when its signal aborts, before the agent ends', async () => {
    const { lifecycle, agentId } = await setup();
    const controller = new AbortController();
    const seen: string[] = [];
    const watched = (async () => {
      for await (const event of lifecycle.watch(agentId, { signal: controller.signal })) seen.push(event.status);
    })();
    await expect.poll(() => seen).toEqual(['spawning']);
    controller.abort();
    await watched;
    expect(seen).toEqual(['spawning']);
  });
});
