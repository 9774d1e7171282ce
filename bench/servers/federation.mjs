// Benchmark targets 3 and 4: the full federation server (the same createFederation the
// Node entry serves) with libSQL stores, or with the message log, rate limits and event
// bus in Valkey (BENCH_STORES=valkey), or with every store in memory, agent state
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
import { createFederation, createInMemoryStores, createLibsqlStores } from '@mosaic-fed/server';
import { connectValkey, openDatabase } from '@mosaic-fed/node';
import { ValkeyEventBus, ValkeyMessageLogStore, ValkeyRateLimiter } from '@mosaic-fed/node/valkey';
import { Hono } from 'hono';

const { hubId, hubPublicJwk } = JSON.parse(process.env.BENCH_IDENTITIES ?? '{}');
const dir = mkdtempSync(join(tmpdir(), 'mosaic-bench-'));
// Database files opened as the Node entry opens them; agent state on disk, as in
// `mosaic-fed serve`.
const inMemory = process.env.BENCH_STORES === 'memory';
let stores = inMemory ? createInMemoryStores() : await createLibsqlStores(await openDatabase(`file:${join(dir, 'bench.db')}`));
const agentState = inMemory
  ? new InMemoryAgentStateStore()
  : await createLibsqlAgentStateStore(await openDatabase(`file:${join(dir, 'orchestrator.db')}`));
let shared = {};
if (process.env.BENCH_STORES === 'valkey') {
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
const local = new LocalOrchestrator({
  sandboxes: noSandbox,
  workspaces: noCheckout,
  runners: { worker: instant, reviewer: instant, tester: instant },
  state: agentState,
  maxConcurrentAgents: 64,
});
const orchestrator = {
  async spawn(request) {
    const started = performance.now();
    const answer = await local.spawn(request);
    void (async () => {
      for await (const event of local.watch(request.agentId)) if (event.status === 'completed') latencies.push(performance.now() - started);
    })();
    return answer;
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
  .get('/bench/stats', (c) => c.json({ latencies }))
  .post('/bench/gc', (c) => {
    globalThis.gc?.();
    const memory = process.memoryUsage();
    return c.json({ rss: memory.rss, heapUsed: memory.heapUsed, latencies: latencies.length });
  })
  .route('/', federation.app);
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
  console.log(JSON.stringify({ ready: true, port: info.port, instanceId: self.instanceId })),
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
