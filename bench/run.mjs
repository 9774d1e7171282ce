#!/usr/bin/env node
// `pnpm bench`: our speed against the limits below us and a peer, side by side, in one
// run. Each server runs in its own process (pinned to one core where `taskset` exists);
// this process is the load generator (autocannon, 50 connections). Each figure is the
// median of 3 timed runs after a warm-up, with min and max; the ratios are taken within
// this run. Results go to bench/results/<date>.json with the machine they ran on;
// BENCHMARKS.md says what they mean.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { generateKeyPair, importSigningKey, importVerificationKey, signMessage, verifyMessage } from '@mosaic-fed/core';

const RUNS = 3;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = 50;
const TRACKED_AGENTS = 10_000;
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
  return { ...ready, url: `http://127.0.0.1:${ready.port}`, stop: () => child.kill() };
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

/** A figure: warm-up, then RUNS timed runs; throughput and p50/p99 latency. */
async function figure(name, url, options) {
  await load(url, { ...options, duration: Math.min(2, DURATION_S) });
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await options.beforeRun?.();
    const result = await load(url, options);
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    runs.push({ rate: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
  }
  const rates = runs.map((r) => r.rate);
  return {
    name,
    unit: 'req/s',
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    p50Ms: median(runs.map((r) => r.p50)),
    p99Ms: median(runs.map((r) => r.p99)),
  };
}

/** Signed messages, each with its own jti (the receiver answers a repeated one from its log). */
function messagePool(aud, body, size) {
  const tokens = [];
  let next = 0;
  return {
    async refill() {
      tokens.length = 0;
      next = 0;
      for (let i = 0; i < size; i++) tokens.push(await signMessage({ ...body, iss: hubId, aud }, hubKey, { lifetimeSeconds: 300 }));
    },
    body: () => {
      if (next >= tokens.length) throw new Error('the pool of signed messages ran out: raise its size');
      return tokens[next++];
    },
  };
}

const figures = {};
try {
  // 1. The framework limit.
  const bare = await startTarget('bare.mjs');
  figures.bare = await figure('1. bare Hono JSON route', bare.url, { body: () => '{}' });
  bare.stop();

  // 2. The crypto limit: verify an EdDSA JWT, sign a reply.
  const cryptoTarget = await startTarget('crypto.mjs');
  const cryptoToken = await signMessage({ kind: 'QUERY', iss: hubId, aud: spokeId, queryType: 'agents.list', payload: {} }, hubKey, { lifetimeSeconds: 300 });
  figures.crypto = await figure('2. Hono + EdDSA verify + sign', cryptoTarget.url, { body: () => cryptoToken, contentType: 'application/jwt' });
  cryptoTarget.stop();

  // 3. The full incoming agent.status path, with libSQL and with Valkey stores.
  for (const stores of ['libsql', 'valkey']) {
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
    await pool.refill();
    figures[`status-${stores}`] = await figure(`3. agent.status, full path (${stores === 'libsql' ? 'libSQL' : 'Valkey'})`, server.url, {
      path: '/api/v1/federation/incoming/command',
      contentType: 'application/jwt',
      body: pool.body,
      beforeRun: pool.refill,
    });
    server.stop();
  }

  // 4. agent.spawn through the full path, agents that finish at once.
  {
    const server = await startTarget('federation.mjs');
    const spawnBody = { kind: 'COMMAND', commandType: 'agent.spawn', payload: { taskId: 'bench', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } };
    const pool = messagePool(server.instanceId, spawnBody, Number(process.env.BENCH_POOL ?? 40_000) / 2);
    await pool.refill();
    figures.spawn = await figure('4. agent.spawn, full path', server.url, {
      path: '/api/v1/federation/incoming/command',
      contentType: 'application/jwt',
      body: pool.body,
      beforeRun: pool.refill,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { latencies } = await (await fetch(`${server.url}/bench/stats`)).json();
    const sorted = [...latencies].sort((a, b) => a - b);
    figures.spawnLatency = { name: '4. spawn-to-completed latency', agents: sorted.length, p50Ms: sorted[Math.floor(sorted.length * 0.5)], p99Ms: sorted[Math.floor(sorted.length * 0.99)] };
    server.stop();
  }

  // 5. A peer: the A2A SDK's server, a trivial executor, SendMessage (message/send).
  const a2a = await startTarget('a2a.mjs');
  const a2aBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text: 'hi' }] } } });
  figures.a2a = await figure('5. A2A SDK SendMessage (no crypto)', a2a.url, { path: '/a2a', headers: { 'a2a-version': '1.0' }, body: () => a2aBody });
  a2a.stop();

  // 6. Memory per tracked agent, and what the SDK weighs for a browser or an edge worker.
  {
    const server = await startTarget('federation.mjs', {}, ['--expose-gc']);
    const spawnBody = { kind: 'COMMAND', commandType: 'agent.spawn', payload: { taskId: 'tracked', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } };
    const warm = messagePool(server.instanceId, spawnBody, 200);
    await warm.refill();
    await load(server.url, { path: '/api/v1/federation/incoming/command', contentType: 'application/jwt', body: warm.body, amount: 200 });
    const settle = async (count) => {
      for (let tries = 0; tries < 600; tries++) {
        const memory = await (await fetch(`${server.url}/bench/gc`, { method: 'POST' })).json();
        if (memory.latencies >= count) return (await (await fetch(`${server.url}/bench/gc`, { method: 'POST' })).json());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the agents did not finish');
    };
    const before = await settle(200);
    const tracked = messagePool(server.instanceId, spawnBody, TRACKED_AGENTS);
    await tracked.refill();
    await load(server.url, { path: '/api/v1/federation/incoming/command', contentType: 'application/jwt', body: tracked.body, amount: TRACKED_AGENTS });
    const after = await settle(200 + TRACKED_AGENTS);
    figures.memory = {
      name: `6. server memory per tracked agent (${TRACKED_AGENTS} agents)`,
      rssBytesPerAgent: (after.rss - before.rss) / TRACKED_AGENTS,
      heapBytesPerAgent: (after.heapUsed - before.heapUsed) / TRACKED_AGENTS,
    };
    server.stop();
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
} finally {
  for (const child of children) child.kill();
}

const status = figures['status-libsql'];
const ratios = {
  'status/crypto (3/2)': status.median / figures.crypto.median,
  'status/bare (3/1)': status.median / figures.bare.median,
  'status/a2a (3/5)': status.median / figures.a2a.median,
  'status p99 / crypto p99': status.p99Ms / figures.crypto.p99Ms,
};
const targets = {
  'full agent.status path ≥ 80% of the crypto limit': ratios['status/crypto (3/2)'] >= 0.8,
  '≥ 1.0× the A2A peer': ratios['status/a2a (3/5)'] >= 1,
  'agent.status p99 ≤ 2× the crypto limit p99': ratios['status p99 / crypto p99'] <= 2,
  '≤ 2 KiB of server memory per tracked agent': figures.memory.rssBytesPerAgent <= 2048,
};

const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), serverPinnedToOneCore: pinned },
  node: process.version,
  method: { runs: RUNS, durationSecondsPerRun: DURATION_S, connections: CONNECTIONS, loadGenerator: 'autocannon, in its own process' },
  figures,
  ratios,
  targets,
};

const round = (value) => (value === undefined ? '' : Math.round(value).toLocaleString('en'));
console.table(
  ['bare', 'crypto', 'status-libsql', 'status-valkey', 'spawn', 'a2a'].map((key) => ({
    figure: figures[key].name,
    'median req/s': round(figures[key].median),
    'min–max': `${round(figures[key].min)}–${round(figures[key].max)}`,
    'p50 ms': figures[key].p50Ms,
    'p99 ms': figures[key].p99Ms,
  })),
);
console.log(`spawn-to-completed over ${figures.spawnLatency.agents} agents: p50 ${figures.spawnLatency.p50Ms.toFixed(1)} ms, p99 ${figures.spawnLatency.p99Ms.toFixed(1)} ms`);
console.log(`memory per tracked agent: ${round(figures.memory.rssBytesPerAgent)} B RSS, ${round(figures.memory.heapBytesPerAgent)} B heap`);
console.log(`SDK + core for a browser: ${round(figures.bundle.bytes)} B minified, ${round(figures.bundle.gzipBytes)} B gzipped`);
console.log(`verify with the key imported once: ${round(figures.micro.verifyCachedPerSecond)}/s; importing it per message: ${round(figures.micro.verifyImportingPerSecond)}/s`);
for (const [name, value] of Object.entries(ratios)) console.log(`${name}: ${value.toFixed(2)}`);
for (const [name, met] of Object.entries(targets)) console.log(`${met ? 'met    ' : 'not met'}  ${name}`);

const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`${result.date.slice(0, 10)}.json`, dir);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written to ${file.pathname}`);
process.exit(0);
