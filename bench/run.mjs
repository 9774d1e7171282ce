#!/usr/bin/env node
// `pnpm bench`: our speed against the limits below us and a peer, side by side, in one
// run. Each server runs in its own process (pinned to one core where `taskset` exists);
// this process is the load generator (autocannon, 50 connections). Each figure is the
// median of 3 timed runs after a warm-up, with min and max. The compared targets run in
// rounds (each once per round) and each ratio is taken within a round, then its median
// kept. Results go to bench/results/<date>.json with the machine they ran on;
// BENCHMARKS.md says what they mean.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { CompactSign, importJWK } from 'jose';
import { generateKeyPair, importSigningKey, importVerificationKey, signMessage, verifyMessage } from '@mosaic-fed/core';
import { measureStarts } from './start.mjs';

const RUNS = 3;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = 50;
const TRACKED_AGENTS = 10_000;
/** How many agents one agents.status message asks for (figure 3m). */
const STATUSES_PER_QUERY = 100;
const here = new URL('.', import.meta.url).pathname;
const pinned = spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).stdout.trim() !== '' && cpus().length > 1;

const hub = await generateKeyPair();
const spoke = await generateKeyPair();
const hubId = crypto.randomUUID();
const spokeId = crypto.randomUUID();
const hubKey = await importSigningKey(hub.privateJwk);
const identities = JSON.stringify({ hubId, spokeId, hubPublicJwk: hub.publicJwk, spokePrivateJwk: spoke.privateJwk });
const children = [];

/** Starts a target in its own process and waits for its ready line. */
async function startTarget(script, env = {}, nodeArgs = []) {
  const command = pinned ? 'taskset' : process.execPath;
  const args = [...(pinned ? ['-c', '1', process.execPath] : []), ...nodeArgs, `${here}servers/${script}`];
  const child = spawn(command, args, { env: { ...process.env, BENCH_IDENTITIES: identities, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const ready = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line));
    });
  });
  return { ...ready, url: `http://127.0.0.1:${ready.port}`, pid: child.pid, stop: () => child.kill() };
}

// CPU time of a target's threads, from /proc (Linux): the main thread runs JavaScript,
// HTTP and SQLite; the others are libuv's pool, where WebCrypto runs each Ed25519
// operation, and V8's helpers (GC). Elsewhere the figures are left out.
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
function threadCpuUs(pid) {
  if (pid === undefined || !existsSync(`/proc/${pid}/task`)) return undefined;
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // Fields after the parenthesised name; utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      threads.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}
function cpuPerRequest(pid, before, after, requests) {
  if (before === undefined || after === undefined || requests === 0) return {};
  let main = 0;
  let other = 0;
  for (const [tid, us] of after) {
    const spent = us - (before.get(tid) ?? 0);
    if (tid === String(pid)) main += spent;
    else other += spent;
  }
  return { cpuMainUs: main / requests, cpuOtherUs: other / requests };
}

/** One autocannon run; `body()` gives each request its body. */
function load(url, { path = '/', contentType = 'application/json', body, headers = {}, duration = DURATION_S, amount }) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        ...(amount === undefined ? { duration } : { amount }),
        requests: [{ method: 'POST', path, headers: { 'content-type': contentType, ...headers }, setupRequest: (request) => ({ ...request, body: body() }) }],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One timed run of a target: its rate, p50/p99 latency and CPU time per request. */
async function timedRun(name, target, options) {
  await options.beforeRun?.();
  const before = threadCpuUs(target.pid);
  const result = await load(target.url, options);
  const after = threadCpuUs(target.pid);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rate: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ...cpuPerRequest(target.pid, before, after, result.requests.total) };
}

/** A figure from its runs: median rate with min and max, median p50 and p99. */
function summarize(name, runs) {
  const rates = runs.map((r) => r.rate);
  return {
    name,
    unit: 'req/s',
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    p50Ms: median(runs.map((r) => r.p50)),
    p99Ms: median(runs.map((r) => r.p99)),
    ...(runs.every((r) => r.cpuMainUs !== undefined)
      ? { cpuMainUsPerRequest: median(runs.map((r) => r.cpuMainUs)), cpuOtherUsPerRequest: median(runs.map((r) => r.cpuOtherUs)) }
      : {}),
  };
}

const warmUp = (url, options) => load(url, { ...options, duration: Math.min(2, DURATION_S) });

/** A figure on its own: warm-up, then RUNS timed runs. */
async function figure(name, target, options) {
  await warmUp(target.url, options);
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun(name, target, options));
  return summarize(name, runs);
}

/** `size` request bodies signed ahead of each run by `sign(i)`, handed out one per request. */
function signedPool(size, sign) {
  const bodies = [];
  let next = 0;
  return {
    async refill() {
      bodies.length = 0;
      next = 0;
      for (let i = 0; i < size; i++) bodies.push(await sign(i));
    },
    body: () => {
      if (next >= bodies.length) throw new Error('the pool of signed requests ran out: raise its size');
      return bodies[next++];
    },
  };
}

/** Signed messages, each with its own jti (the receiver answers a repeated one from its log). */
function messagePool(aud, body, size) {
  return signedPool(size, () => signMessage({ ...body, iss: hubId, aud }, hubKey, { lifetimeSeconds: 300 }));
}

const figures = {};
/** Per round, the result of each compared target. */
const rounds = [];
try {
  // 1, 2, 3 and 5 run in rounds: each round runs every target once, so each ratio is
  // taken between runs made minutes apart at most, under the same machine conditions
  // (a shared virtual machine's speed drifts). The targets idle while others run.
  const compared = {};
  compared.bare = { name: '1. bare Hono JSON route', target: await startTarget('bare.mjs'), options: { body: () => '{}' } };

  // 2. The crypto limit: verify an EdDSA JWT, sign a reply.
  const cryptoToken = await signMessage({ kind: 'QUERY', iss: hubId, aud: spokeId, queryType: 'agents.list', payload: {} }, hubKey, { lifetimeSeconds: 300 });
  compared.crypto = { name: '2. Hono + EdDSA verify + sign', target: await startTarget('crypto.mjs'), options: { body: () => cryptoToken, contentType: 'application/jwt' } };

  // 3. The full incoming agent.status path, with libSQL and with Valkey stores, and as
  // many machines run it (PostgreSQL and Valkey); and, to show what storage costs, with
  // every store in memory (not a deployment: nothing lasts).
  const storeNames = { libsql: 'libSQL', valkey: 'Valkey', postgres: 'PostgreSQL and Valkey', memory: 'stores in memory' };
  for (const stores of Object.keys(storeNames)) {
    const server = await startTarget('federation.mjs', { BENCH_STORES: stores });
    const spawnOne = await signMessage(
      { kind: 'COMMAND', iss: hubId, aud: server.instanceId, commandType: 'agent.spawn', payload: { taskId: 'status-target', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } },
      hubKey,
    );
    const spawned = await fetch(`${server.url}/api/v1/federation/incoming/command`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: spawnOne });
    if (!spawned.ok) throw new Error(`could not spawn the status target: ${spawned.status}`);
    const reply = await spawned.text();
    const agentId = JSON.parse(Buffer.from(reply.split('.')[1] ?? '', 'base64url').toString()).data.agentId;
    const pool = messagePool(server.instanceId, { kind: 'COMMAND', commandType: 'agent.status', payload: { agentId } }, Number(process.env.BENCH_POOL ?? 40_000));
    compared[`status-${stores}`] = {
      name: `3. agent.status, full path (${storeNames[stores]})`,
      target: server,
      options: { path: '/api/v1/federation/incoming/command', contentType: 'application/jwt', body: pool.body, beforeRun: pool.refill },
    };
  }

  // 3m. Many statuses per message: agents.status asking for 100 of the sender's agents, on
  // the libSQL server of figure 3 (each answer is 100 statuses, one verification).
  {
    const server = compared['status-libsql'].target;
    const agentIds = [];
    for (let i = 0; i < STATUSES_PER_QUERY; i++) {
      const spawnOne = await signMessage(
        { kind: 'COMMAND', iss: hubId, aud: server.instanceId, commandType: 'agent.spawn', payload: { taskId: `statuses-${i}`, agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } },
        hubKey,
      );
      const spawned = await fetch(`${server.url}/api/v1/federation/incoming/command`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: spawnOne });
      if (!spawned.ok) throw new Error(`could not spawn a statuses target: ${spawned.status}`);
      agentIds.push(JSON.parse(Buffer.from((await spawned.text()).split('.')[1] ?? '', 'base64url').toString()).data.agentId);
    }
    const pool = messagePool(server.instanceId, { kind: 'QUERY', queryType: 'agents.status', payload: { agentIds } }, Number(process.env.BENCH_POOL ?? 40_000) / 4);
    compared.statuses = {
      name: `3m. agents.status, ${STATUSES_PER_QUERY} ids per message, full path (libSQL)`,
      target: server,
      options: { path: '/api/v1/federation/incoming/query', contentType: 'application/jwt', body: pool.body, beforeRun: pool.refill },
    };
  }

  // 5. A peer: the A2A SDK's server, a trivial executor, SendMessage (message/send).
  const a2aBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } });
  compared.a2a = { name: '5. A2A SDK SendMessage (no crypto)', target: await startTarget('a2a.mjs'), options: { path: '/a2a', headers: { 'a2a-version': '1.0' }, body: () => a2aBody } };

  // 5s. The fair peer: the same SDK server with a JWS (EdDSA) on every request and answer.
  // Its SendMessage creates a task (as a spawn creates an agent); GetTask reads one.
  {
    const peer = await startTarget('a2a.mjs', { BENCH_A2A_SIGNED: '1' });
    const key = await importJWK({ ...hub.privateJwk, alg: 'EdDSA' }, 'EdDSA');
    const sign = (request) => new CompactSign(new TextEncoder().encode(JSON.stringify(request))).setProtectedHeader({ alg: 'EdDSA' }).sign(key);
    const headers = { 'a2a-version': '1.0' };
    const created = await fetch(`${peer.url}/a2a`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/jose' },
      body: await sign({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'first', role: 'ROLE_USER', parts: [{ text: 'hi' }] }, configuration: { returnImmediately: true } } }),
    });
    const [, payload] = (await created.text()).split('.');
    const taskId = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()).result?.task?.id;
    if (typeof taskId !== 'string') throw new Error('the signed peer created no task');
    // Distinct requests, signed ahead of each run, as ours are (the peer would take a repeated one, too).
    const size = Number(process.env.BENCH_POOL ?? 40_000);
    const getTask = signedPool(size, (i) => sign({ jsonrpc: '2.0', id: i, method: 'GetTask', params: { id: taskId } }));
    const sendMessage = signedPool(size / 2, (i) =>
      sign({ jsonrpc: '2.0', id: i, method: 'SendMessage', params: { message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text: `task ${i}` }] }, configuration: { returnImmediately: true } } }),
    );
    const options = (pool) => ({ path: '/a2a', headers, contentType: 'application/jose', body: pool.body, beforeRun: pool.refill });
    compared['a2a-signed-get'] = { name: '5s. A2A SDK GetTask, JWS on request and answer', target: peer, options: options(getTask) };
    compared['a2a-signed-send'] = { name: '5s. A2A SDK SendMessage creating a task, JWS on request and answer', target: peer, options: options(sendMessage) };
  }

  for (const { target, options } of Object.values(compared)) {
    await options.beforeRun?.();
    await warmUp(target.url, options);
  }
  for (let round = 0; round < RUNS; round++) {
    const results = {};
    for (const [key, { name, target, options }] of Object.entries(compared)) results[key] = await timedRun(name, target, options);
    rounds.push(results);
  }
  for (const [key, { name, target }] of Object.entries(compared)) {
    figures[key] = summarize(name, rounds.map((results) => results[key]));
    target.stop();
  }

  // 4. agent.spawn through the full path, agents that finish at once: with libSQL, and as
  // many machines run it (PostgreSQL and Valkey).
  for (const [stores, suffix, label] of [['libsql', '', ''], ['postgres', 'Postgres', ' (PostgreSQL and Valkey)']]) {
    const server = await startTarget('federation.mjs', { BENCH_STORES: stores });
    const spawnBody = { kind: 'COMMAND', commandType: 'agent.spawn', payload: { taskId: 'bench', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } };
    const pool = messagePool(server.instanceId, spawnBody, Number(process.env.BENCH_POOL ?? 40_000) / 2);
    await pool.refill();
    const before = await (await fetch(`${server.url}/bench/stats`)).json();
    figures[`spawn${suffix}`] = await figure(`4. agent.spawn, full path${label}`, server, {
      path: '/api/v1/federation/incoming/command',
      contentType: 'application/jwt',
      body: pool.body,
      beforeRun: pool.refill,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { latencies, statements, calls } = await (await fetch(`${server.url}/bench/stats`)).json();
    const sorted = [...latencies].sort((a, b) => a - b);
    figures[`spawn${suffix}Latency`] = { name: `4. spawn-to-completed latency${label}`, agents: sorted.length, p50Ms: sorted[Math.floor(sorted.length * 0.5)], p99Ms: sorted[Math.floor(sorted.length * 0.99)] };
    // What the databases ran for each agent, from its spawn to its end (its events stored
    // for the hub): SQL statements, and round trips (a statement, or a batch in one transaction).
    const spawned = latencies.length - before.latencies.length;
    figures[`spawn${suffix}Statements`] = { name: `4. database work per spawn${label}`, agents: spawned, statements: (statements - before.statements) / spawned, roundTrips: (calls - before.calls) / spawned };
    server.stop();
  }

  // 6. Memory per tracked agent, and what the SDK weighs for a browser or an edge worker.
  // RSS moves with the allocator from one process to the next, so each run is a fresh
  // server, and the figures are medians of RUNS with min and max. Each run spawns
  // TRACKED_AGENTS agents twice: the growth over the first batch includes the server
  // settling into its working set under load (page caches, allocator arenas, compiled
  // code); the growth over the second is what each further tracked agent costs.
  {
    const spawnBody = { kind: 'COMMAND', commandType: 'agent.spawn', payload: { taskId: 'tracked', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } };
    const path = '/api/v1/federation/incoming/command';
    const runs = [];
    for (let run = 0; run < RUNS; run++) {
      const server = await startTarget('federation.mjs', {}, ['--expose-gc']);
      const spawnAgents = async (count) => {
        const pool = messagePool(server.instanceId, spawnBody, count);
        await pool.refill();
        await load(server.url, { path, contentType: 'application/jwt', body: pool.body, amount: count });
      };
      const settle = async (count) => {
        for (let tries = 0; tries < 600; tries++) {
          const memory = await (await fetch(`${server.url}/bench/gc`, { method: 'POST' })).json();
          if (memory.latencies >= count) return (await (await fetch(`${server.url}/bench/gc`, { method: 'POST' })).json());
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error('the agents did not finish');
      };
      await spawnAgents(200);
      const before = await settle(200);
      await spawnAgents(TRACKED_AGENTS);
      const first = await settle(200 + TRACKED_AGENTS);
      await spawnAgents(TRACKED_AGENTS);
      const second = await settle(200 + 2 * TRACKED_AGENTS);
      runs.push({
        firstRss: (first.rss - before.rss) / TRACKED_AGENTS,
        firstHeap: (first.heapUsed - before.heapUsed) / TRACKED_AGENTS,
        rss: (second.rss - first.rss) / TRACKED_AGENTS,
        heap: (second.heapUsed - first.heapUsed) / TRACKED_AGENTS,
      });
      server.stop();
    }
    const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
    figures.memory = {
      name: `6. server memory per tracked agent (${TRACKED_AGENTS} agents after ${TRACKED_AGENTS} more)`,
      rssBytesPerAgent: spread(runs.map((r) => r.rss)),
      heapBytesPerAgent: spread(runs.map((r) => r.heap)),
      firstBatchRssBytesPerAgent: spread(runs.map((r) => r.firstRss)),
      firstBatchHeapBytesPerAgent: spread(runs.map((r) => r.firstHeap)),
    };
    const bundle = await build({
      stdin: { contents: "export * from '@mosaic-fed/sdk';", resolveDir: here, loader: 'js' },
      bundle: true,
      minify: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser', 'worker'],
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0].contents;
    figures.bundle = { name: '6. SDK + core bundle (browser, minified)', bytes: code.byteLength, gzipBytes: gzipSync(code).byteLength };
  }

  // Protocol-layer micro figures, in this process: why keys are imported once.
  const token = await signMessage({ kind: 'QUERY', iss: hubId, aud: spokeId, queryType: 'agents.list', payload: {} }, hubKey);
  const key = await importVerificationKey(hub.publicJwk);
  const perSecond = async (op) => {
    const rates = [];
    for (let run = 0; run <= RUNS; run++) {
      let count = 0;
      const start = performance.now();
      while (performance.now() - start < 1_000) {
        await op();
        count++;
      }
      if (run > 0) rates.push((count / (performance.now() - start)) * 1000);
    }
    return median(rates);
  };
  figures.micro = {
    verifyCachedPerSecond: await perSecond(() => verifyMessage(token, { audience: spokeId, resolveKey: () => ({ key, instanceId: hubId }) })),
    verifyImportingPerSecond: await perSecond(async () => {
      const fresh = await importVerificationKey(hub.publicJwk);
      return verifyMessage(token, { audience: spokeId, resolveKey: () => ({ key: fresh, instanceId: hubId }) });
    }),
  };
  // Figure 7: spawn to the first tool call, in each sandbox kind (bench/start.mjs).
  figures.starts = await measureStarts();
} finally {
  for (const child of children) child.kill();
}

// Each ratio is taken within each round; the figure is its median over the rounds.
const ratioOf = (per) => {
  const values = rounds.map(per);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
};
const ratios = {
  'status/crypto (3/2)': ratioOf((r) => r['status-libsql'].rate / r.crypto.rate),
  'status/bare (3/1)': ratioOf((r) => r['status-libsql'].rate / r.bare.rate),
  'status/a2a (3/5)': ratioOf((r) => r['status-libsql'].rate / r.a2a.rate),
  'status p99 / crypto p99': ratioOf((r) => r['status-libsql'].p99 / r.crypto.p99),
  'status (Valkey)/crypto': ratioOf((r) => r['status-valkey'].rate / r.crypto.rate),
  'status (PostgreSQL and Valkey)/crypto': ratioOf((r) => r['status-postgres'].rate / r.crypto.rate),
  'status (PostgreSQL and Valkey)/status (libSQL)': ratioOf((r) => r['status-postgres'].rate / r['status-libsql'].rate),
  'status (stores in memory)/crypto': ratioOf((r) => r['status-memory'].rate / r.crypto.rate),
  'status/signed a2a GetTask (3/5s)': ratioOf((r) => r['status-libsql'].rate / r['a2a-signed-get'].rate),
  [`statuses per second at ${STATUSES_PER_QUERY} ids / signed a2a GetTask (3m/5s)`]: ratioOf((r) => (r.statuses.rate * STATUSES_PER_QUERY) / r['a2a-signed-get'].rate),
};
// Spawns are not in the rounds (each run adds agents to the server): their ratio is of the medians.
{
  const ratio = figures.spawn.median / figures['a2a-signed-send'].median;
  ratios['spawn/signed a2a SendMessage (4/5s, medians)'] = { median: ratio, min: ratio, max: ratio };
}
const targets = {
  'full agent.status path ≥ 80% of the crypto limit': ratios['status/crypto (3/2)'].median >= 0.8,
  '≥ 1.0× the A2A peer': ratios['status/a2a (3/5)'].median >= 1,
  'full agent.status path ≥ 1.0× the signed A2A peer GetTask': ratios['status/signed a2a GetTask (3/5s)'].median >= 1,
  'agent.spawn ≥ 1.0× the signed A2A peer SendMessage': ratios['spawn/signed a2a SendMessage (4/5s, medians)'].median >= 1,
  '≤ 8 statements per spawn': figures.spawnStatements.statements <= 8,
  '≤ 8 database round trips per spawn': figures.spawnStatements.roundTrips <= 8,
  '≤ 1.5 ms of CPU per spawn (all threads)': (figures.spawn.cpuMainUsPerRequest ?? Infinity) + (figures.spawn.cpuOtherUsPerRequest ?? 0) <= 1_500,
  [`agents.status at ${STATUSES_PER_QUERY} ids ≥ 20× the signed peer's GetTask, in statuses per second`]: ratios[`statuses per second at ${STATUSES_PER_QUERY} ids / signed a2a GetTask (3m/5s)`].median >= 20,
  'agent.status p99 ≤ 2× the crypto limit p99': ratios['status p99 / crypto p99'].median <= 2,
  '≤ 2 KiB of server memory per tracked agent': figures.memory.rssBytesPerAgent.median <= 2048,
  'start p50 < 0.3 s with bubblewrap': figures.starts.find((f) => f.sandbox === 'bubblewrap')?.p50Ms < 300,
  'start p50 < 0.8 s with Podman': figures.starts.find((f) => f.sandbox === 'docker')?.p50Ms < 800,
};

const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), serverPinnedToOneCore: pinned },
  node: process.version,
  method: { runs: RUNS, durationSecondsPerRun: DURATION_S, connections: CONNECTIONS, loadGenerator: 'autocannon, in its own process', ratios: 'per round of the compared targets, median over the rounds' },
  figures,
  ratios,
  targets,
};

// Written before anything is printed: a printing mistake must not lose a run.
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`${result.date.slice(0, 10)}.json`, dir);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

const round = (value) => (value === undefined ? '' : Math.round(value).toLocaleString('en'));
console.table(
  ['bare', 'crypto', 'status-libsql', 'status-valkey', 'status-postgres', 'status-memory', 'statuses', 'spawn', 'spawnPostgres', 'a2a', 'a2a-signed-get', 'a2a-signed-send'].map((key) => ({
    figure: figures[key].name,
    'median req/s': round(figures[key].median),
    'min–max': `${round(figures[key].min)}–${round(figures[key].max)}`,
    'p50 ms': figures[key].p50Ms,
    'p99 ms': figures[key].p99Ms,
  })),
);
if (figures.crypto.cpuMainUsPerRequest !== undefined) {
  console.log('CPU time per request (µs), median over the runs: main thread | other threads (crypto jobs, GC)');
  for (const key of ['crypto', 'status-libsql', 'status-valkey', 'status-postgres', 'status-memory', 'statuses', 'spawn', 'spawnPostgres', 'a2a', 'a2a-signed-get', 'a2a-signed-send']) {
    const { name, cpuMainUsPerRequest: main, cpuOtherUsPerRequest: other } = figures[key];
    console.log(`  ${name}: ${round(main)} | ${round(other)}`);
  }
}
for (const suffix of ['', 'Postgres']) {
  const latency = figures[`spawn${suffix}Latency`];
  const work = figures[`spawn${suffix}Statements`];
  console.log(`${latency.name}, over ${latency.agents} agents: p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms`);
  console.log(`${work.name}, over ${work.agents} agents: ${work.statements.toFixed(1)} statements in ${work.roundTrips.toFixed(1)} round trips`);
}
const bytes = ({ median: m, min, max }) => `${round(m)} B (${round(min)}–${round(max)})`;
console.log(`memory per tracked agent, once the server is warm: ${bytes(figures.memory.rssBytesPerAgent)} RSS, ${bytes(figures.memory.heapBytesPerAgent)} heap`);
console.log(`growth over the first ${TRACKED_AGENTS} agents, per agent: ${bytes(figures.memory.firstBatchRssBytesPerAgent)} RSS, ${bytes(figures.memory.firstBatchHeapBytesPerAgent)} heap`);
for (const start of figures.starts) {
  console.log(
    start.skipped === undefined
      ? `7. ${start.sandbox}: spawn to first tool call over ${start.agents} agents: p50 ${start.p50Ms.toFixed(0)} ms, p95 ${start.p95Ms.toFixed(0)} ms`
      : `7. ${start.sandbox}: skipped, ${start.skipped}`,
  );
}
console.log(`SDK + core for a browser: ${round(figures.bundle.bytes)} B minified, ${round(figures.bundle.gzipBytes)} B gzipped`);
console.log(`verify with the key imported once: ${round(figures.micro.verifyCachedPerSecond)}/s; importing it per message: ${round(figures.micro.verifyImportingPerSecond)}/s`);
for (const [name, value] of Object.entries(ratios)) console.log(`${name}: ${value.median.toFixed(2)} (${value.min.toFixed(2)}–${value.max.toFixed(2)})`);
for (const [name, met] of Object.entries(targets)) console.log(`${met ? 'met    ' : 'not met'}  ${name}`);

console.log(`written to ${file.pathname}`);
process.exit(0);
