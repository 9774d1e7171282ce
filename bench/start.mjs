#!/usr/bin/env node
// Figure 7, the speed of a start: from `spawn` to the agent's first tool call in its
// sandbox, for bubblewrap and for Podman (Docker's API), with the repository on loopback
// (git's http-backend) and the model a scripted Messages API server that asks for one
// `bash` call at once. Timed per agent, one agent at a time, with the whole real path: the
// orchestrator's queue, the clone, the sandbox made and filled, the runner's first turn.
//
// What is timed ends when the tool call's result reaches the model: the moment the
// scripted server receives the agent's second request. The call itself (`true`) costs a
// few milliseconds in either sandbox, so this is the start plus one exec.
//
// Run alone with `node bench/start.mjs` (after `pnpm build`), or as part of `pnpm bench`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createNodeOrchestrator } from '@mosaic-fed/node';
import { createDemoRepository, startGitHttpServer, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { silentLogger } from '@mosaic-fed/server';

const AGENTS = Number(process.env.BENCH_START_AGENTS ?? 20);
const WARMUP = 2;
const DOCKER_IMAGE = process.env.MOSAIC_SANDBOX_IMAGE ?? 'localhost/mosaic-sandbox-test:latest';

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Starts `AGENTS` agents one after another in `sandbox` and answers their start times, or why it could not. */
async function measure(sandbox, extra = {}) {
  const work = mkdtempSync(join(tmpdir(), `mosaic-bench-start-${sandbox}-`));
  createDemoRepository(join(work, 'repo'));
  const git = await startGitHttpServer(work);
  // Turn 0 asks for the tool call; turn 1, which carries its result, is the moment timed.
  let reached;
  const model = await startScriptedMessagesServer(
    turnByTurn([
      [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }],
      () => {
        reached?.(performance.now());
        return [{ type: 'text', text: 'Done.' }];
      },
    ]),
  );
  const agents = await createNodeOrchestrator({
    dataDir: join(work, 'agents'),
    logger: silentLogger,
    sandbox,
    allowNetworks: ['127.0.0.0/8'],
    anthropic: { apiKey: 'bench-key', baseURL: model.url },
    ...extra,
  });
  try {
    if (!agents.description.startsWith(sandbox)) return { sandbox, skipped: `this machine has no ${sandbox} sandbox (${agents.description})` };
    const times = [];
    for (let i = 0; i < WARMUP + AGENTS; i++) {
      const agentId = crypto.randomUUID();
      const firstToolCall = new Promise((done) => (reached = done));
      const started = performance.now();
      await agents.orchestrator.spawn({
        agentId,
        ownerInstanceId: crypto.randomUUID(),
        spec: {
          taskId: `start-${i}`,
          agentType: 'worker',
          context: { repository: `http://127.0.0.1:${git.port}/repo`, branch: 'main', workItems: [], instructions: '' },
          options: { timeout: 120_000, maxRetries: 0 },
        },
      });
      const at = await firstToolCall;
      if (i >= WARMUP) times.push(at - started);
      // The next agent starts once this one has ended and its sandbox is gone.
      for await (const event of agents.orchestrator.watch(agentId)) {
        if (event.status === 'failed') throw new Error(`a ${sandbox} agent failed: ${event.error}`);
      }
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { sandbox, agents: sorted.length, p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95), minMs: sorted[0], maxMs: sorted.at(-1) };
  } finally {
    await agents.close();
    await model.close();
    await git.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Figure 7 for both sandbox kinds. */
export async function measureStarts() {
  return [
    await measure('bubblewrap'),
    await measure('docker', { sandboxImage: DOCKER_IMAGE }),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureStarts();
  const day = new Date().toISOString().slice(0, 10);
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) };
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`results/${day}-start.json`, import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), machine, node: process.version, starts: figures }, null, 2)}\n`);
  for (const figure of figures) {
    if (figure.skipped !== undefined) console.log(`${figure.sandbox}: skipped, ${figure.skipped}`);
    else console.log(`${figure.sandbox}: spawn to first tool call over ${figure.agents} agents: p50 ${figure.p50Ms.toFixed(0)} ms, p95 ${figure.p95Ms.toFixed(0)} ms (min ${figure.minMs.toFixed(0)}, max ${figure.maxMs.toFixed(0)})`);
  }
}
