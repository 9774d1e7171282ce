// @ts-check
// A plain Node app that holds an instance identity and talks to a peer (the spoke) with
// FederationClient: it spawns an agent and watches it to the end, then spawns another
// and kills it. Every message is signed with the identity's key; every answer is a
// signed RESPONSE that the client verifies against the peer's published keys.
//
// To be self-contained, the app starts its own two instances first: the hub whose
// identity it uses, and the spoke that runs the agents (with a scripted model standing
// in for Claude, unless ANTHROPIC_API_KEY is set). Against real instances, only the part
// under "The app" is needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstanceDocumentSchema, silentLogger } from '@mosaic-fed/core';
import { createDemoRepository, demoScenarios, startScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { AdminClient, FederationClient } from '@mosaic-fed/sdk';
import { createAdminToken } from '@mosaic-fed/server';
import { createNodeOrchestrator, startServer } from '@mosaic-fed/node';

/** The networks the example's instances may call besides public ones: they are all on this machine. */
const LOOPBACK = ['127.0.0.0/8'];

/**
 * Runs the example and reports what happened.
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function main({ log = console.log } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'mosaic-example-sdk-'));
  /** @type {(() => Promise<unknown>)[]} */
  const cleanups = [];
  try {
    // --- Setting the scene: a spoke that runs agents, and the hub whose identity the app holds.
    // The stand-in model plays the demo's scenarios (a worker fixes the demo repository),
    // and one of ours: a task that asks it to wait runs a long command.
    /** @type {import('@mosaic-fed/orchestrator/testing').Scenario} */
    const waits = {
      name: 'wait',
      when: (request) => request.mentions('wait'),
      steps: [{ when: (request) => request.turn === 0, answer: [{ type: 'tool_use', name: 'bash', input: { command: 'sleep 60' } }] }],
    };
    const model = await startScriptedMessagesServer([waits, ...demoScenarios()]);
    cleanups.push(() => model.close());
    const agents = await createNodeOrchestrator({
      dataDir: join(work, 'spoke'),
      logger: silentLogger,
      sandbox: 'unsafe-process',
      allowFileRepositories: true,
      anthropic: process.env.ANTHROPIC_API_KEY ? {} : { apiKey: 'scripted', baseURL: model.url },
    });
    cleanups.push(() => agents.close());
    // Both instances are on this machine: loopback is among the networks they may call.
    const hub = await startServer({ port: 0, dataDir: join(work, 'hub'), name: 'App Hub', logger: silentLogger, allowNetworks: LOOPBACK });
    cleanups.push(() => hub.close());
    const spoke = await startServer({
      port: 0,
      dataDir: join(work, 'spoke'),
      name: 'Spoke',
      logger: silentLogger,
      orchestrator: agents.orchestrator,
      autoAcceptUrls: [hub.url],
      allowNetworks: LOOPBACK,
      // The example's repository is a folder on this machine.
      repositories: ['file://**'],
    });
    cleanups.push(() => spoke.close());
    const { token } = await createAdminToken({ store: hub.federation.stores.adminTokens, label: 'example', actor: { type: 'cli', id: 'example' } });
    await new AdminClient({ url: hub.url, token }).connect(spoke.url);
    const repository = createDemoRepository(join(work, 'repo'));

    // --- The app: an instance identity (id and signing key) and the peer's published keys.
    const document = InstanceDocumentSchema.parse(await (await fetch(`${spoke.url}/.well-known/mosaic-federation`)).json());
    const client = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.federation.instance.signingKey(),
      peer: { instanceId: document.instanceId, url: document.url, keys: document.keys },
      actor: { userId: 'example-user' },
    });

    const context = { repository, branch: 'main', instructions: 'Make sh test.sh pass.' };
    const fixed = await client.spawn({ taskId: 'example-fix', agentType: 'worker', context });
    log(`spawned ${fixed.agentId}`);
    for await (const status of client.watch(fixed.agentId, { intervalMs: 200 })) {
      log(`status ${status.status}${status.progress?.lastAction ? ` (${status.progress.lastAction})` : ''}`);
    }
    const result = (await client.status(fixed.agentId)).result;
    log(`summary ${result?.summary}`);
    log(`patch\n${result?.patch}`);

    const waiting = await client.spawn({ taskId: 'example-kill', agentType: 'worker', context: { ...context, instructions: 'wait for a while' } });
    log(`spawned ${waiting.agentId}`);
    for await (const status of client.watch(waiting.agentId, { intervalMs: 200 })) {
      if (status.status === 'running') break;
    }
    const killed = await client.kill(waiting.agentId);
    log(`killed ${killed.agentId} at ${killed.killedAt}`);
    const listed = await client.list({ limit: 10 });
    log(`listed ${listed.agents.map((agent) => `${agent.taskId}=${agent.status}`).join(' ')}`);
    return { fixed: fixed.agentId, killed: killed.agentId, patch: result?.patch ?? '' };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
