#!/usr/bin/env node
// `pnpm bench`: measures what the protocol layer costs, so that decisions about the hot
// path rest on numbers. Each figure is the median of 3 timed runs after a warm-up, with
// min and max. Results go to bench/results/<date>.json with the machine they ran on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import {
  generateKeyPair,
  importSigningKey,
  importVerificationKey,
  signMessage,
  verifyMessage,
} from '@mosaic-fed/core';

const RUNS = 3;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2_000);

const hubId = crypto.randomUUID();
const spokeId = crypto.randomUUID();
const { publicJwk, privateJwk } = await generateKeyPair();
const signingKey = await importSigningKey(privateJwk);
const verificationKey = await importVerificationKey(publicJwk);
const command = {
  kind: 'COMMAND',
  iss: hubId,
  aud: spokeId,
  commandType: 'agent.status',
  payload: { agentId: crypto.randomUUID() },
};
const token = await signMessage(command, signingKey);
const cachedResolver = () => ({ key: verificationKey, instanceId: hubId });

/** Operations per second of `op`, run back to back for DURATION_MS. */
async function measure(op) {
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < DURATION_MS) {
    await op();
    count++;
    if (count % 64 === 0) elapsed = performance.now() - start;
  }
  return (count / (performance.now() - start)) * 1000;
}

async function figure(name, op) {
  await measure(op); // warm-up
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(await measure(op));
  samples.sort((a, b) => a - b);
  return { name, unit: 'ops/s', median: samples[Math.floor(RUNS / 2)], min: samples[0], max: samples.at(-1) };
}

const figures = [
  await figure('signMessage (key imported once)', () => signMessage(command, signingKey)),
  await figure('verifyMessage (key imported once)', () =>
    verifyMessage(token, { audience: spokeId, resolveKey: cachedResolver }),
  ),
  await figure('verifyMessage (importing the key per message)', async () => {
    const key = await importVerificationKey(publicJwk);
    return verifyMessage(token, { audience: spokeId, resolveKey: () => ({ key, instanceId: hubId }) });
  }),
];
const cached = figures[1].median;
const perMessage = figures[2].median;

const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  node: process.version,
  runs: RUNS,
  durationMsPerRun: DURATION_MS,
  figures,
  ratios: { verifyCachedOverPerMessageImport: cached / perMessage },
};

console.table(
  figures.map((f) => ({
    figure: f.name,
    'median ops/s': Math.round(f.median),
    'min–max': `${Math.round(f.min)}–${Math.round(f.max)}`,
  })),
);
console.log(`importing keys once verifies ${result.ratios.verifyCachedOverPerMessageImport.toFixed(2)}× faster`);

const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`${result.date.slice(0, 10)}.json`, dir);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written to ${file.pathname}`);
