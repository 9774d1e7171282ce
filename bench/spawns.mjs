#!/usr/bin/env node
// What one spawn costs the spoke, from its message to its agent's end: the statements its
// databases run, their round trips, and the CPU time of the server process (user and
// kernel), over N spawns sent one at a time (or CONCURRENCY at once). The server is
// figure 4's (servers/federation.mjs, agents that finish at once). Runnable alone:
//   node bench/spawns.mjs            200 spawns, one at a time
//   N=2000 CONCURRENCY=50 node bench/spawns.mjs
//   BENCH_SQL=1 node bench/spawns.mjs    also counts each statement by its text
//   PROFILE=dir node bench/spawns.mjs    writes the server's CPU profile there
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { generateKeyPair, importSigningKey, signMessage } from '@mosaic-fed/core';

const N = Number(process.env.N ?? 200);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);
const WARM_UP = 20;

const hub = await generateKeyPair();
const hubId = crypto.randomUUID();
const hubKey = await importSigningKey(hub.privateJwk);
const profile = process.env.PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`];
const server = spawn(process.execPath, [...profile, new URL('./servers/federation.mjs', import.meta.url).pathname], {
  env: { ...process.env, BENCH_IDENTITIES: JSON.stringify({ hubId, hubPublicJwk: hub.publicJwk }) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ready = await new Promise((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  createInterface({ input: server.stdout }).on('line', (line) => line.startsWith('{') && resolve(JSON.parse(line)));
});
const url = `http://127.0.0.1:${ready.port}`;
process.on('exit', () => server.kill());

const body = { kind: 'COMMAND', commandType: 'agent.spawn', payload: { taskId: 'bench', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main' } } };
const messages = [];
for (let i = 0; i < N + WARM_UP; i++) messages.push(await signMessage({ ...body, iss: hubId, aud: ready.instanceId }, hubKey, { lifetimeSeconds: 300 }));
const send = async (message) => {
  const answer = await fetch(`${url}/api/v1/federation/incoming/command`, { method: 'POST', headers: { 'content-type': 'application/jwt' }, body: message });
  if (!answer.ok) throw new Error(`a spawn failed: ${answer.status} ${await answer.text()}`);
  await answer.text();
};
const stats = async () => (await fetch(`${url}/bench/stats`)).json();
/** Until `count` agents have completed, and a little after (their last events stored). */
const settled = async (count) => {
  while ((await stats()).latencies.length < count) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 300));
};
/** The server's CPU time so far, in microseconds: all of it, and the kernel's part (Linux). */
const ticks = 1e6 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);
const cpu = () => {
  if (!existsSync(`/proc/${server.pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { total: (Number(fields[11]) + Number(fields[12])) * ticks, kernel: Number(fields[12]) * ticks };
};

for (const message of messages.slice(0, WARM_UP)) await send(message);
await settled(WARM_UP);
const before = { stats: await stats(), cpu: cpu() };
const timed = messages.slice(WARM_UP);
await Promise.all(
  Array.from({ length: CONCURRENCY }, async (_, lane) => {
    for (let i = lane; i < timed.length; i += CONCURRENCY) await send(timed[i]);
  }),
);
await settled(N + WARM_UP);
const after = { stats: await stats(), cpu: cpu() };

const per = (value) => Math.round((value / N) * 100) / 100;
console.log(
  JSON.stringify(
    {
      spawns: N,
      concurrency: CONCURRENCY,
      statementsPerSpawn: per(after.stats.statements - before.stats.statements),
      roundTripsPerSpawn: per(after.stats.calls - before.stats.calls),
      ...(before.cpu === undefined
        ? {}
        : { cpuMsPerSpawn: per((after.cpu.total - before.cpu.total) / 1000), kernelMsPerSpawn: per((after.cpu.kernel - before.cpu.kernel) / 1000) }),
    },
    null,
    2,
  ),
);
if (after.stats.texts !== undefined) {
  const counted = Object.entries(after.stats.texts)
    .map(([text, count]) => [(count - (before.stats.texts[text] ?? 0)) / N, text])
    .filter(([perSpawn]) => perSpawn > 0)
    .sort((a, b) => b[0] - a[0]);
  for (const [perSpawn, text] of counted) console.log(perSpawn.toFixed(2).padStart(6), text);
}
// SIGINT lets a profiled server write its profile.
server.kill('SIGINT');
