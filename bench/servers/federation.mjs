// Benchmark targets 3 and 4: the full federation server (the same createFederation the
// Node entry serves) with libSQL stores, or with the message log, rate limits and event
// bus in Valkey (BENCH_STORES=valkey), or as many machines run it, every store and the
// agents' state in PostgreSQL (a schema of its own in MOSAIC_FED_TEST_POSTGRES_URL's
// database, dropped at exit) and what is shared in flight in Valkey
// (BENCH_STORES=postgres), or with every store in memory, agent state
// included (BENCH_STORES=memory), which shows what storage costs. A hub identity from the runner is pinned on an
// ACTIVE connection with grants that never limit. Agents run on LocalOrchestrator with a
// runner that finishes at once (no checkout, no sandbox), so spawns measure the platform.
// GET /bench/stats answers spawn-to-completed latencies; POST /bench/gc collects garbage
// and answers the process's memory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { GRANTABLE_TYPES, silentLogger } from '@mosaic-fed/core';
import { InMemoryAgentStateStore, LocalOrchestrator } from '@mosaic-fed/orchestrator';
import { createLibsqlAgentStateStore } from '@mosaic-fed/orchestrator/libsql';
import { createPostgresAgentStateStore } from '@mosaic-fed/orchestrator/postgres';
import { createFederation, createInMemoryStores, createLibsqlStores } from '@mosaic-fed/server';
import { createPostgresStores } from '@mosaic-fed/server/postgres';
import pg from 'pg';
import { connectValkey, openDatabase } from '@mosaic-fed/node';
import { ValkeyEventBus, ValkeyMessageLogStore, ValkeyRateLimiter } from '@mosaic-fed/node/valkey';
import { Hono } from 'hono';

const { hubId, hubPublicJwk } = JSON.parse(process.env.BENCH_IDENTITIES ?? '{}');

// Statements run on the databases, counted: each one a call into SQLite. Calls are round
// trips through the driver (a batch or a transaction's statement each count one).
const counts = { statements: 0, calls: 0 };
// With BENCH_SQL=1, each statement's text is counted too (GET /bench/stats).
const texts = process.env.BENCH_SQL === '1' ? {} : undefined;
const note = (statement) => {
  if (texts === undefined) return;
  const text = (typeof statement === 'string' ? statement : statement.sql).replace(/\s+/g, ' ').slice(0, 140);
  texts[text] = (texts[text] ?? 0) + 1;
};
function counted(client) {
  const wrap = (target) =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        if (property === 'execute') return (...args) => (note(args[0]), (counts.statements += 1), (counts.calls += 1), value.apply(object, args));
        if (property === 'batch') return (statements, ...rest) => (statements.forEach(note), (counts.statements += statements.length), (counts.calls += 1), value.call(object, statements, ...rest));
        if (property === 'transaction') return async (...args) => wrap(await value.apply(object, args));
        return value.bind(object);
      },
    });
  return wrap(client);
}
/** A `pg` pool whose queries are counted: each one a statement and a round trip, in a transaction or not. */
function countedPool(pool) {
  const countQuery = (object, value) => (...args) => (note(args[0]?.text ?? args[0]), (counts.statements += 1), (counts.calls += 1), value.apply(object, args));
  return new Proxy(pool, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      if (property === 'query') return countQuery(object, value);
      if (property === 'connect') {
        return async (...args) => {
          const client = await value.apply(object, args);
          return new Proxy(client, { get: (target, name) => (name === 'query' ? countQuery(target, target.query) : Reflect.get(target, name, target)) });
        };
      }
      return value.bind(object);
    },
  });
}
/** A schema of its own in the PostgreSQL database, as an empty database; dropped at exit. */
async function postgresSchema() {
  const url = new URL(process.env.MOSAIC_FED_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const schema = `bench_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  dropAtExit.push(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  url.searchParams.set('options', `-c search_path=${schema}`);
  return countedPool(new pg.Pool({ connectionString: url.toString(), max: 10 }));
}
const dropAtExit = [];
const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
// Database files opened as the Node entry opens them; agent state on disk, as in
// `mosaic-fed serve`.
const inMemory = process.env.BENCH_STORES === 'memory';
const postgres = process.env.BENCH_STORES === 'postgres' ? await postgresSchema() : undefined;
let stores;
let agentState;
if (inMemory) {
  stores = createInMemoryStores();
  agentState = new InMemoryAgentStateStore();
} else if (postgres !== undefined) {
  // As `mosaic-fed serve` opens them: one pool for the process.
  stores = await createPostgresStores(postgres, { closePool: false });
  agentState = await createPostgresAgentStateStore(postgres, { closePool: false });
} else {
  stores = await createLibsqlStores(counted(await openDatabase(`file:${join(dir, 'bench.db')}`)));
  agentState = await createLibsqlAgentStateStore(counted(await openDatabase(`file:${join(dir, 'orchestrator.db')}`)));
}
let shared = {};
if (process.env.BENCH_STORES === 'valkey' || postgres !== undefined) {
  const redis = await connectValkey(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `mosaic-fed-bench:${crypto.randomUUID()}:`;
  stores = { ...stores, messageLog: new ValkeyMessageLogStore({ redis, prefix }) };
  shared = { rateLimiter: new ValkeyRateLimiter({ redis, prefix }), events: new ValkeyEventBus({ redis, prefix }) };
}

// An orchestrator whose agents finish at once; spawn-to-completed is timed around it.
const latencies = [];
const noSandbox = {
  name: 'none',
  async create() {
    return { isolation: 'process', workdir: '/', exec: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false }), readFile: async () => '', writeFile: async () => undefined, exportTo: async () => undefined, destroy: async () => undefined };
  },
};
const noCheckout = { async checkout() { return { dir: '/', changes: async () => ({}), remove: async () => undefined }; } };
const instant = { async run() { return { summary: 'done' } } };
// Timed from the spawn's call to the store's write of `completed`, without a watcher of
// its own (which would add its reads to the server's).
const started = new Map();
const timedState = new Proxy(agentState, {
  get(store, property) {
    const value = Reflect.get(store, property, store);
    if (property !== 'update') return typeof value === 'function' ? value.bind(store) : value;
    return async (agentId, expectedSequence, status) => {
      const event = await value.call(store, agentId, expectedSequence, status);
      if (event?.status === 'completed' && started.has(agentId)) {
        latencies.push(performance.now() - started.get(agentId));
        started.delete(agentId);
      }
      return event;
    };
  },
});
const local = new LocalOrchestrator({
  sandboxes: noSandbox,
  workspaces: noCheckout,
  runners: { worker: instant, reviewer: instant, tester: instant },
  state: timedState,
  maxConcurrentAgents: 64,
});
const orchestrator = {
  spawn(request) {
    started.set(request.agentId, performance.now());
    return local.spawn(request);
  },
  getStatus: (agentId) => local.getStatus(agentId),
  kill: (agentId) => local.kill(agentId),
  watch: (agentId, options) => local.watch(agentId, options),
};

const federation = createFederation({
  url: 'http://127.0.0.1:9',
  secret: 'bench-secret-0123456789abcdef0123456789',
  stores,
  ...shared,
  orchestrator,
  logger: silentLogger,
  // Events go to a hub that is not listening: keep their retries out of the way.
  outbox: { initialBackoffMs: 60_000, maxBackoffMs: 600_000, pollIntervalMs: 60_000 },
});
const self = await federation.instance.load();
const at = new Date().toISOString();
await stores.connections.create(
  {
    id: crypto.randomUUID(),
    peerInstanceId: hubId,
    peerUrl: 'http://127.0.0.1:9',
    peerName: 'Bench hub',
    status: 'ACTIVE',
    direction: 'incoming',
    grants: {
      allowedCommands: [...GRANTABLE_TYPES],
      allowedAgentTypes: ['worker', 'reviewer', 'tester'],
      maxConcurrentAgents: 10_000,
      spawnPerMinute: 100_000,
      messagesPerMinute: 1_000_000,
    },
    peerCapabilities: self.capabilities,
    peerMetadata: {},
    peerKeys: [hubPublicJwk],
    replacedPeerKeys: [],
    peerUrlVouches: true,
    createdAt: at,
    updatedAt: at,
    version: 1,
  },
  { id: crypto.randomUUID(), at, actor: { type: 'system', id: 'bench' }, action: 'connection.create', target: null, before: null, after: null },
);

const app = new Hono()
  .get('/bench/stats', (c) => c.json({ latencies, ...counts, ...(texts === undefined ? {} : { texts }) }))
  .post('/bench/gc', (c) => {
    globalThis.gc?.();
    const memory = process.memoryUsage();
    return c.json({ rss: memory.rss, heapUsed: memory.heapUsed, latencies: latencies.length });
  })
  .route('/', federation.app);
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
  console.log(JSON.stringify({ ready: true, port: info.port, instanceId: self.instanceId })),
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    for (const drop of dropAtExit) await drop().catch(() => undefined);
    process.exit(0);
  });
}
