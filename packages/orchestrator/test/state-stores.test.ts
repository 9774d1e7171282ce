import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { AgentSpawnPayloadSchema, type AgentStatus } from '@mosaic-fed/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryAgentStateStore, type AgentStateStore, type StoredAgent } from '../src/index.js';
import { createLibsqlAgentStateStore } from '../src/libsql.js';
import { MIGRATIONS } from '../src/state/libsql-migrations.js';
import { createPostgresAgentStateStore } from '../src/postgres.js';
import { ValkeyAgentStateStore } from '../src/valkey.js';
import { createPostgresSchema, testPostgresAnswers } from '../../../test/postgres.js';
import { redisServer } from './helpers.js';

// One contract, every agent state store: memory, a libSQL file, Valkey (a real
// redis-server) and PostgreSQL (a real server, each store in a schema of its own).
const dir = mkdtempSync(join(tmpdir(), 'mosaic-orchestrator-state-'));
let redis: Redis | undefined;
const postgres = await testPostgresAnswers();
/** Each PostgreSQL store's schema, dropped at the end. */
const schemas: Awaited<ReturnType<typeof createPostgresSchema>>[] = [];
const prefix = `mosaic-fed-test:${randomUUID()}:`;

beforeAll(async () => {
  redis = await redisServer();
});

afterAll(async () => {
  if (redis !== undefined) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
  await Promise.all(schemas.map((schema) => schema.drop()));
});

const stores: { name: string; make: () => Promise<AgentStateStore | undefined> }[] = [
  { name: 'memory', make: async () => new InMemoryAgentStateStore() },
  { name: 'libSQL file', make: () => createLibsqlAgentStateStore(createClient({ url: `file:${join(dir, `${randomUUID()}.db`)}` })) },
  { name: 'Valkey', make: async () => (redis === undefined ? undefined : new ValkeyAgentStateStore({ redis, prefix: `${prefix}${randomUUID()}:` })) },
  {
    name: 'PostgreSQL',
    make: async () => {
      if (!postgres) return undefined;
      const schema = await createPostgresSchema();
      schemas.push(schema);
      return createPostgresAgentStateStore(schema.pool, { closePool: false });
    },
  },
];

function agent(): StoredAgent {
  const agentId = randomUUID();
  const status: AgentStatus = {
    agentId,
    taskId: 'task-1',
    agentType: 'worker',
    status: 'spawning',
    attempt: 1,
    spawnedAt: '2026-11-25T10:00:00.000Z',
    startedAt: null,
    completedAt: null,
    progress: null,
    result: null,
    error: null,
  };
  const spec = AgentSpawnPayloadSchema.parse({
    taskId: 'task-1',
    agentType: 'worker',
    context: { repository: 'git.example.com/org/repo', branch: 'main' },
  });
  return { agentId, ownerInstanceId: randomUUID(), spec, status, sequence: 1 };
}

describe.each(stores)('agent state store: $name', ({ make }) => {
  it('creates once: a second create of the same id writes nothing', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const first = agent();
    expect(await store.create(first)).toBe('created');
    expect(await store.create({ ...first, ownerInstanceId: randomUUID() })).toBe('exists');
    expect(await store.get(first.agentId)).toEqual(first);
    expect(await store.events(first.agentId, 0)).toEqual([{ ...first.status, sequence: 1 }]);
    expect(await store.get(randomUUID())).toBeUndefined();
  });

  it('creates agents of one moment each once, with its own first event', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const [a, b] = [agent(), agent()];
    // A twice: whichever comes first makes it, the other finds it (the same agent either way).
    const outcomes = await Promise.all([store.create(a), store.create(b), store.create({ ...a })]);
    expect([outcomes[0], outcomes[2]].sort()).toEqual(['created', 'exists']);
    expect(outcomes[1]).toBe('created');
    for (const each of [a, b]) {
      expect(await store.get(each.agentId)).toEqual(each);
      expect(await store.events(each.agentId, 0)).toEqual([{ ...each.status, sequence: 1 }]);
    }
  });

  it("keeps an agent's egress rules, and none for an agent given none", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const withRules = { ...agent(), egress: ['registry.npmjs.org', '127.0.0.1:4873'] };
    const without = agent();
    await store.create(withRules);
    await store.create(without);
    expect((await store.get(withRules.agentId))?.egress).toEqual(['registry.npmjs.org', '127.0.0.1:4873']);
    expect(await store.get(without.agentId)).not.toHaveProperty('egress');
    expect((await store.listActive()).find((listed) => listed.agentId === withRules.agentId)?.egress).toEqual(withRules.egress);
  });

  it("keeps an agent's token budget, and none for an agent given none", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const budgeted = { ...agent(), maxTokens: 250_000 };
    const unbounded = agent();
    await store.create(budgeted);
    await store.create(unbounded);
    expect((await store.get(budgeted.agentId))?.maxTokens).toBe(250_000);
    expect(await store.get(unbounded.agentId)).not.toHaveProperty('maxTokens');
    expect((await store.listActive()).find((listed) => listed.agentId === budgeted.agentId)?.maxTokens).toBe(250_000);
  });

  it("keeps an agent's approval rules, and none for an agent given none", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const ruled = { ...agent(), approvals: { plan: true, commands: ['git push', '@network'] } };
    const free = agent();
    await store.create(ruled);
    await store.create(free);
    expect((await store.get(ruled.agentId))?.approvals).toEqual({ plan: true, commands: ['git push', '@network'] });
    expect(await store.get(free.agentId)).not.toHaveProperty('approvals');
  });

  it("keeps the trace an agent's spawn came with, and none for an agent spawned untraced", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const traced = { ...agent(), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const untraced = agent();
    await store.create(traced);
    await store.create(untraced);
    expect((await store.get(traced.agentId))?.traceparent).toBe(traced.traceparent);
    expect(await store.get(untraced.agentId)).not.toHaveProperty('traceparent');
  });

  it('keeps the first answer to each approval of an agent, and only that one', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const { agentId } = agent();
    const other = randomUUID();
    const answer = { approvalId: 'approval-1', decision: 'reject' as const, note: 'Not on Fridays.', answeredAt: '2026-12-07T10:00:00.000Z' };
    expect(await store.answer(agentId, 'approval-1')).toBeUndefined();
    const [first, second] = await Promise.all([
      store.putAnswer(agentId, answer),
      store.putAnswer(agentId, { ...answer, decision: 'approve', note: 'Fine.' }),
    ]);
    expect([first, second]).toEqual([true, false]);
    expect(await store.answer(agentId, 'approval-1')).toEqual(answer);
    // Another approval of the agent, and the same approval id of another agent, are their own.
    expect(await store.putAnswer(agentId, { approvalId: 'approval-2', decision: 'approve', answeredAt: answer.answeredAt })).toBe(true);
    expect(await store.answer(agentId, 'approval-2')).toEqual({ approvalId: 'approval-2', decision: 'approve', answeredAt: answer.answeredAt });
    expect(await store.answer(other, 'approval-1')).toBeUndefined();
    expect(await store.putAnswer(other, answer)).toBe(true);
  });

  it("reads many agents' statuses in one call, in order, each its own copy, a missing one as undefined", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const [a, b] = [agent(), agent()];
    await Promise.all([store.create(a), store.create(b)]);
    const running: AgentStatus = { ...b.status, status: 'running', startedAt: '2026-11-25T10:00:01.000Z' };
    await store.update(b.agentId, 1, running);
    const read = await store.statuses([a.agentId, b.agentId, a.agentId, randomUUID()]);
    expect(read).toEqual([a.status, running, a.status, undefined]);
    expect(read[0]).not.toBe(read[2]);
    expect(await store.statuses([])).toEqual([]);
  });

  it('updates with compare-and-set: one of two writers from the same sequence wins', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const first = agent();
    await store.create(first);
    const running: AgentStatus = { ...first.status, status: 'running', startedAt: '2026-11-25T10:00:01.000Z' };
    const killed: AgentStatus = { ...first.status, status: 'killed', completedAt: '2026-11-25T10:00:01.000Z' };
    const outcomes = await Promise.all([store.update(first.agentId, 1, running), store.update(first.agentId, 1, killed)]);
    expect(outcomes.filter((outcome) => outcome !== undefined)).toHaveLength(1);
    const stored = await store.get(first.agentId);
    expect(stored?.sequence).toBe(2);
    expect(await store.events(first.agentId, 0)).toHaveLength(2);
    expect(await store.update(first.agentId, 1, running)).toBeUndefined();
    expect(await store.update(randomUUID(), 1, running)).toBeUndefined();
  });

  it('moves agents of one moment each by its own compare-and-set, and one agent twice in its order', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const [a, b, c] = [agent(), agent(), agent()];
    await Promise.all([a, b, c].map((each) => store.create(each)));
    const running = (of: StoredAgent): AgentStatus => ({ ...of.status, status: 'running', startedAt: '2026-11-25T10:00:01.000Z' });
    const completed: AgentStatus = { ...running(a), status: 'completed', completedAt: '2026-11-25T10:00:02.000Z', result: { summary: 'done' } };
    const outcomes = await Promise.all([
      store.update(a.agentId, 1, running(a)),
      store.update(b.agentId, 1, running(b)),
      // Read at a sequence it no longer has.
      store.update(c.agentId, 0, running(c)),
      // A's second move, made after its first within the same moment.
      store.update(a.agentId, 2, completed),
      store.update(randomUUID(), 1, running(a)),
    ]);
    expect(outcomes).toEqual([{ ...running(a), sequence: 2 }, { ...running(b), sequence: 2 }, undefined, { ...completed, sequence: 3 }, undefined]);
    expect(await store.statuses([a.agentId, b.agentId, c.agentId])).toEqual([completed, running(b), c.status]);
    expect((await store.events(a.agentId, 0)).map((event) => [event.sequence, event.status])).toEqual([
      [1, 'spawning'],
      [2, 'running'],
      [3, 'completed'],
    ]);
    expect(await store.events(c.agentId, 1)).toEqual([]);
    expect((await store.listActive()).map((each) => each.agentId).sort()).toEqual([b.agentId, c.agentId].sort());
  });

  it('keeps every event in order, resumable after a sequence, and lists only active agents', async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const active = agent();
    const done = agent();
    await store.create(active);
    await store.create(done);
    let status: AgentStatus = { ...done.status, status: 'running', startedAt: '2026-11-25T10:00:01.000Z' };
    expect(await store.update(done.agentId, 1, status)).toEqual({ ...status, sequence: 2 });
    status = { ...status, progress: { turns: 3, lastAction: 'ran the tests' } };
    await store.update(done.agentId, 2, status);
    status = { ...status, status: 'completed', completedAt: '2026-11-25T10:00:02.000Z', result: { summary: 'done', patch: 'diff' } };
    await store.update(done.agentId, 3, status);
    expect((await store.events(done.agentId, 0)).map((event) => event.sequence)).toEqual([1, 2, 3, 4]);
    expect((await store.events(done.agentId, 2)).map((event) => [event.sequence, event.status])).toEqual([
      [3, 'running'],
      [4, 'completed'],
    ]);
    expect((await store.events(done.agentId, 4))).toEqual([]);
    const ids = (await store.listActive()).map((a) => a.agentId);
    expect(ids).toContain(active.agentId);
    expect(ids).not.toContain(done.agentId);
    expect((await store.get(done.agentId))?.status.result).toEqual({ summary: 'done', patch: 'diff' });
  });

  it("numbers each agent's transcript on from its last entry, across appends, and pages it", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const one = agent();
    const other = agent();
    await store.create(one);
    await store.create(other);
    const entry = (input: string, attempt = 1) => ({ attempt, turn: 1, at: '2026-11-25T10:00:01.000Z', kind: 'tool' as const, tool: 'bash', input, output: 'ok' });
    await store.appendTranscript(one.agentId, [entry('ls'), entry('cat a')]);
    await store.appendTranscript(other.agentId, [entry('elsewhere')]);
    await store.appendTranscript(one.agentId, []);
    // A second attempt (or another worker after a handover) goes on numbering.
    await store.appendTranscript(one.agentId, [entry('sh test.sh', 2)]);
    expect((await store.transcript(one.agentId, 0, 10)).map((e) => [e.index, e.input, e.attempt])).toEqual([
      [1, 'ls', 1],
      [2, 'cat a', 1],
      [3, 'sh test.sh', 2],
    ]);
    expect((await store.transcript(one.agentId, 1, 1)).map((e) => e.index)).toEqual([2]);
    expect(await store.transcript(one.agentId, 3, 10)).toEqual([]);
    expect((await store.transcript(other.agentId, 0, 10)).map((e) => [e.index, e.input])).toEqual([[1, 'elsewhere']]);
    expect(await store.transcript(randomUUID(), 0, 10)).toEqual([]);
  });

  it("keeps an agent's bundle whole, every byte value included, and reads it back in ranges", async (context) => {
    const store = await make();
    if (store === undefined) return context.skip();
    const one = agent();
    await store.create(one);
    expect(await store.readBundle(one.agentId, 0, 10)).toBeUndefined();
    const bundle = new Uint8Array(300_000).map((_byte, i) => (i * 7) % 256);
    await store.putBundle(one.agentId, new Uint8Array(10).fill(1));
    await store.putBundle(one.agentId, bundle);
    const read = async (offset: number, length: number) => [...((await store.readBundle(one.agentId, offset, length)) ?? [])];
    expect(await read(0, 5)).toEqual([0, 7, 14, 21, 28]);
    expect(await read(299_998, 10)).toEqual([...bundle.slice(299_998)]);
    const whole: number[] = [];
    for (let offset = 0; offset < bundle.length; offset += 98_304) whole.push(...(await read(offset, 98_304)));
    expect(whole).toEqual([...bundle]);
    expect(await read(300_000, 10)).toEqual([]);
    expect(await store.readBundle(randomUUID(), 0, 10)).toBeUndefined();
  });
});

describe('the libSQL agent state schema', () => {
  it('adopts a database made before drizzle-kit (its tables, no ledger), keeping its agents', async () => {
    const file = join(dir, `${randomUUID()}.db`);
    const client = createClient({ url: `file:${file}` });
    try {
      // What the store made before its migrations were drizzle-kit's.
      await client.batch(
        [
          'CREATE TABLE IF NOT EXISTS orchestrator_agents (agent_id TEXT PRIMARY KEY, owner_instance_id TEXT NOT NULL, spec TEXT NOT NULL, status TEXT NOT NULL, state TEXT NOT NULL, sequence INTEGER NOT NULL)',
          'CREATE INDEX IF NOT EXISTS orchestrator_agents_state ON orchestrator_agents (state)',
          'CREATE TABLE IF NOT EXISTS orchestrator_events (agent_id TEXT NOT NULL, sequence INTEGER NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (agent_id, sequence))',
        ],
        'write',
      );
      const earlier = agent();
      await client.execute({
        sql: 'INSERT INTO orchestrator_agents VALUES (?, ?, ?, ?, ?, ?)',
        args: [earlier.agentId, earlier.ownerInstanceId, JSON.stringify(earlier.spec), JSON.stringify(earlier.status), 'spawning', 1],
      });
      const store = await createLibsqlAgentStateStore(client);
      expect(await store.get(earlier.agentId)).toEqual(earlier);
      expect((await store.listActive()).map((active) => active.agentId)).toEqual([earlier.agentId]);
      const ledger = await client.execute('SELECT hash FROM __drizzle_migrations');
      expect(ledger.rows.map((row) => row.hash)).toEqual(MIGRATIONS.map((migration) => migration.hash));
      // Opened again: nothing to adopt, nothing to apply.
      await createLibsqlAgentStateStore(createClient({ url: `file:${file}` }));
      expect((await client.execute('SELECT count(*) AS n FROM __drizzle_migrations')).rows[0]?.n).toBe(MIGRATIONS.length);
    } finally {
      client.close();
    }
  });

  it('writes each event with the status it tells of, whoever writes the status, and none for a write that keeps the sequence', async () => {
    const client = createClient({ url: `file:${join(dir, `${randomUUID()}.db`)}` });
    try {
      const store = await createLibsqlAgentStateStore(client);
      const created = agent();
      await store.create(created);
      // Not through the store: a status written by hand still gets its event, in the same statement.
      const running: AgentStatus = { ...created.status, status: 'running', startedAt: '2026-11-25T10:00:01.000Z' };
      await client.execute({
        sql: 'UPDATE orchestrator_agents SET status = ?, state = ?, sequence = 2 WHERE agent_id = ?',
        args: [JSON.stringify(running), 'running', created.agentId],
      });
      await client.execute({ sql: "UPDATE orchestrator_agents SET traceparent = 'x', sequence = sequence WHERE agent_id = ?", args: [created.agentId] });
      expect(await store.events(created.agentId, 0)).toEqual([
        { ...created.status, sequence: 1 },
        { ...running, sequence: 2 },
      ]);
      // A move whose event cannot be written (its sequence is taken) leaves the status as it was.
      await client.execute({ sql: 'INSERT INTO orchestrator_events (agent_id, sequence, payload) VALUES (?, 3, ?)', args: [created.agentId, '{}'] });
      await expect(store.update(created.agentId, 2, { ...running, status: 'completed' })).rejects.toThrow(/UNIQUE/);
      expect((await store.get(created.agentId))?.status).toEqual(running);
    } finally {
      client.close();
    }
  });
});
