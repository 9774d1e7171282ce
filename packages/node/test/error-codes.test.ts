import {
  generateKeyPair,
  importSigningKey,
  signMessage,
  type Connection,
  type ErrorCode,
  type FederationError,
  type KeyResolver,
  type OutgoingMessage,
  type SigningKey,
} from '@mosaic-fed/core';
import { pinnedKeys, sendMessage } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, spawnPayload, startPeer, type Peer } from './peers.js';

// PROTOCOL 2: every error code, produced by a real request to a real instance, and in
// each case nothing executed (no orchestrator call) and nothing stored (no agent, no
// change to the connection).
let hub: Peer;
let spoke: Peer;
let spokeConnectionId: string;
let hubKey: SigningKey;
let resolveSpoke: KeyResolver;

type Body = Omit<Extract<OutgoingMessage, { kind: 'COMMAND' | 'QUERY' }>, 'iss' | 'aud'>;

function command(commandType: string, payload: unknown, extra: Partial<OutgoingMessage> = {}): Body {
  return { kind: 'COMMAND', commandType, payload, ...extra } as Body;
}

/** Sends a message from the hub's identity straight to the spoke, with no retries. */
function send(body: Body, options: { signingKey?: SigningKey; iss?: string; aud?: string; now?: () => Date } = {}) {
  return sendMessage({ ...body, iss: options.iss ?? hub.instanceId, aud: options.aud ?? spoke.instanceId } as OutgoingMessage, {
    url: spoke.url,
    selfId: options.iss ?? hub.instanceId,
    signingKey: options.signingKey ?? hubKey,
    resolveKey: resolveSpoke,
    retries: 0,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: ErrorCode; error: FederationError }> {
  const error = (await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (caught: unknown) => caught,
  )) as FederationError;
  return { code: error.code, error };
}

/** What must not change when a message is refused. */
async function state() {
  const connections = await spoke.api<Connection[]>('/api/v1/federation/connections');
  const hosted = await spoke.api<{ hosted: { items: unknown[] } }>('/api/v1/federation/agents?limit=500');
  return {
    spawnCalls: spoke.orchestrator.spawnCalls,
    agents: spoke.orchestrator.started,
    hosted: hosted.body.data.hosted.items.length,
    connections: connections.body.data.map(({ updatedAt: _u, ...c }) => c),
  };
}

async function expectRefusedWithoutEffect(code: ErrorCode, act: () => Promise<unknown>) {
  const before = await state();
  const result = await codeOf(act());
  expect(result.code).toBe(code);
  expect(await state()).toEqual(before);
  return result.error;
}

async function patchGrants(grants: Record<string, unknown>) {
  const result = await spoke.api(`/api/v1/federation/connections/${spokeConnectionId}`, { method: 'PATCH', body: grants });
  expect(result.status).toBe(200);
  return result.body.data;
}

beforeAll(async () => {
  hub = await startPeer({ name: 'Hub' });
  spoke = await startPeer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
  ({ toConnectionId: spokeConnectionId } = await connectPeers(hub, spoke));
  hubKey = await hub.server.federation.instance.signingKey();
  resolveSpoke = await pinnedKeys(spoke.instanceId, (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk));
});

afterAll(async () => {
  await Promise.all([hub?.destroy(), spoke?.destroy()]);
});

async function rawPost(body: BodyInit, contentType = 'application/jwt') {
  return fetch(`${spoke.url}/api/v1/federation/incoming/command`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body,
  });
}

describe('every error code of PROTOCOL 2, from a real request', () => {
  it('MALFORMED_MESSAGE (400), in plain JSON', async () => {
    const before = await state();
    const response = await rawPost('this is not a JWT');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toMatchObject({ success: false, code: 'MALFORMED_MESSAGE' });
    expect(await state()).toEqual(before);
  });

  it('VALIDATION_FAILED (400), with the offending field', async () => {
    const bad = { ...spawnPayload('t-invalid'), context: { ...spawnPayload('t').context, branch: 'feature..x' } };
    const error = await expectRefusedWithoutEffect('VALIDATION_FAILED', () => send(command('agent.spawn', bad)));
    expect(error.details?.map((d) => d.path)).toEqual(['context.branch']);
  });

  it('INVALID_SIGNATURE (401)', async () => {
    const token = await signMessage(
      { kind: 'COMMAND', iss: hub.instanceId, aud: spoke.instanceId, commandType: 'agent.spawn', payload: spawnPayload('t-sig') },
      hubKey,
    );
    const [header, , signature] = token.split('.');
    const forged = await signMessage(
      { kind: 'COMMAND', iss: hub.instanceId, aud: spoke.instanceId, commandType: 'agent.spawn', payload: spawnPayload('t-forged') },
      hubKey,
    );
    const before = await state();
    const response = await rawPost(`${header}.${forged.split('.')[1]}.${signature}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
    expect(await state()).toEqual(before);
  });

  it('UNKNOWN_KEY (401): the hub\'s id, a key nobody pinned or chained', async () => {
    const { privateJwk } = await generateKeyPair();
    const stranger = await importSigningKey(privateJwk);
    await expectRefusedWithoutEffect('UNKNOWN_KEY', () =>
      send(command('agent.spawn', spawnPayload('t-key')), { signingKey: stranger }),
    );
  });

  it('MESSAGE_EXPIRED (401)', async () => {
    const tenMinutesAgo = () => new Date(Date.now() - 10 * 60_000);
    await expectRefusedWithoutEffect('MESSAGE_EXPIRED', () =>
      send(command('agent.spawn', spawnPayload('t-old')), { now: tenMinutesAgo }),
    );
  });

  it('WRONG_AUDIENCE (401)', async () => {
    await expectRefusedWithoutEffect('WRONG_AUDIENCE', () =>
      send(command('agent.spawn', spawnPayload('t-aud')), { aud: crypto.randomUUID() }),
    );
  });

  it('UNKNOWN_INSTANCE (401): a sender with no connection', async () => {
    const { privateJwk } = await generateKeyPair();
    const stranger = await importSigningKey(privateJwk);
    await expectRefusedWithoutEffect('UNKNOWN_INSTANCE', () =>
      send(command('agent.spawn', spawnPayload('t-who')), { signingKey: stranger, iss: crypto.randomUUID() }),
    );
  });

  it('CONNECTION_NOT_ACTIVE (403): a suspended connection', async () => {
    await spoke.api(`/api/v1/federation/connections/${spokeConnectionId}/suspend`, { method: 'POST' });
    try {
      await expectRefusedWithoutEffect('CONNECTION_NOT_ACTIVE', () => send(command('agent.spawn', spawnPayload('t-susp'))));
    } finally {
      await spoke.api(`/api/v1/federation/connections/${spokeConnectionId}/resume`, { method: 'POST' });
    }
  });

  it('FORBIDDEN (403): a command or agent type the grants leave out', async () => {
    await patchGrants({ allowedCommands: ['agent.spawn', 'agent.status', 'agents.list'], allowedAgentTypes: ['reviewer'] });
    try {
      await expectRefusedWithoutEffect('FORBIDDEN', () => send(command('agent.kill', { agentId: crypto.randomUUID() })));
      await expectRefusedWithoutEffect('FORBIDDEN', () => send(command('agent.spawn', spawnPayload('t-type', 'worker'))));
    } finally {
      await patchGrants({
        allowedCommands: ['agent.spawn', 'agent.status', 'agent.kill', 'agents.list'],
        allowedAgentTypes: ['worker', 'reviewer', 'tester'],
      });
    }
    // agent.respond comes with agent.spawn (docs/protocol.md, "Approvals"): without it, refused.
    await patchGrants({ allowedCommands: ['agent.status', 'agent.kill', 'agents.list'] });
    try {
      await expectRefusedWithoutEffect('FORBIDDEN', () => send(command('agent.respond', { agentId: crypto.randomUUID(), approvalId: 'a', decision: 'approve' })));
    } finally {
      await patchGrants({
        allowedCommands: ['agent.spawn', 'agent.status', 'agent.kill', 'agents.list'],
        allowedAgentTypes: ['worker', 'reviewer', 'tester'],
      });
    }
  });

  it('FORBIDDEN (403): a repository neither the grants nor the instance policy allow (PROTOCOL 3, repositories)', async () => {
    const withRepository = (taskId: string, repository: string) => ({ ...spawnPayload(taskId), context: { ...spawnPayload(taskId).context, repository } });
    // The instance's policy: https hosts only.
    for (const repository of ['http://git.example.com/org/repo', 'ssh://git@git.example.com/org/repo', 'git@git.example.com:org/repo', 'git://git.example.com/org/repo']) {
      const error = await expectRefusedWithoutEffect('FORBIDDEN', () => send(command('agent.spawn', withRepository('t-repo', repository))));
      expect(error.message).toBe("the connection's grants do not allow this repository");
    }
    // The grants narrow it to one organisation, and `null` goes back to the policy.
    const narrowed = await patchGrants({ repositories: ['https://github.com/acme/*'] });
    expect(narrowed).toMatchObject({ grants: { repositories: ['https://github.com/acme/*'] } });
    await expectRefusedWithoutEffect('FORBIDDEN', () => send(command('agent.spawn', withRepository('t-repo-other', 'git.example.com/org/repo'))));
    const acme = (await send(command('agent.spawn', withRepository('t-repo-acme', 'github.com/acme/site')))) as { agentId: string; state: string };
    expect(acme.state).toBe('spawning');
    const restored = (await patchGrants({ repositories: null })) as { grants: Record<string, unknown> };
    expect(restored.grants).not.toHaveProperty('repositories');
    const other = (await send(command('agent.spawn', withRepository('t-repo-default', 'git.example.com/org/repo')))) as { agentId: string; state: string };
    expect(other.state).toBe('spawning');
    // Their places go back for the tests of the limits below.
    for (const { agentId } of [acme, other]) spoke.orchestrator.complete(agentId, { summary: 'done' });
    expect(await spoke.api(`/api/v1/federation/connections/${spokeConnectionId}`, { method: 'PATCH', body: { repositories: ['https://x/***'] } })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED' },
    });
  });

  it('VALIDATION_FAILED (400): a command, query or event type this instance does not know', async () => {
    const error = await expectRefusedWithoutEffect('VALIDATION_FAILED', () => send(command('agent.teleport', {})));
    expect(error.details).toEqual([{ path: 'commandType', message: 'agent.teleport is not a known commandType' }]);
    await expectRefusedWithoutEffect('VALIDATION_FAILED', () =>
      send({ kind: 'QUERY', queryType: 'agents.everything', payload: {} } as unknown as Body),
    );
  });

  it('CAPABILITY_DISABLED (403): spawning switched off by the admin', async () => {
    await spoke.api('/api/v1/federation/instance', { method: 'PATCH', body: { capabilities: { supportsAgentSpawn: false } } });
    try {
      await expectRefusedWithoutEffect('CAPABILITY_DISABLED', () => send(command('agent.spawn', spawnPayload('t-off'))));
    } finally {
      await spoke.api('/api/v1/federation/instance', { method: 'PATCH', body: { capabilities: { supportsAgentSpawn: true } } });
    }
  });

  it('NOT_FOUND (404)', async () => {
    await expectRefusedWithoutEffect('NOT_FOUND', () => send(command('agent.status', { agentId: crypto.randomUUID() })));
  });

  it('MESSAGE_ID_CONFLICT (409): a known jti with other content', async () => {
    const jti = crypto.randomUUID();
    await send(command('agent.spawn', spawnPayload('t-first'), { jti }));
    await expectRefusedWithoutEffect('MESSAGE_ID_CONFLICT', () =>
      send(command('agent.spawn', spawnPayload('t-second'), { jti })),
    );
  });

  it('answers a replayed agent.status from the log, and a jti reused for another agent with MESSAGE_ID_CONFLICT', async () => {
    const { agentId } = (await send(command('agent.spawn', spawnPayload('t-asked')))) as { agentId: string };
    const jti = crypto.randomUUID();
    const first = (await send(command('agent.status', { agentId }, { jti }))) as { status: string };
    expect(first.status).toBe('spawning');
    spoke.orchestrator.complete(agentId, { summary: 'done' });
    // The same message again (a retry, or a replay): the answer it got, nothing asked anew.
    expect(await send(command('agent.status', { agentId }, { jti }))).toEqual(first);
    expect(await send(command('agent.status', { agentId }))).toMatchObject({ status: 'completed' });
    await expectRefusedWithoutEffect('MESSAGE_ID_CONFLICT', () =>
      send(command('agent.status', { agentId: crypto.randomUUID() }, { jti })),
    );
  });

  it('MESSAGE_IN_PROGRESS (409, Retry-After 1): the same message while the first executes', async () => {
    let open: () => void = () => undefined;
    spoke.orchestrator.gate = new Promise<void>((done) => (open = done));
    const jti = crypto.randomUUID();
    const calls = spoke.orchestrator.spawnCalls;
    const first = send(command('agent.spawn', spawnPayload('t-slow'), { jti }));
    while (spoke.orchestrator.spawnCalls === calls) await new Promise((done) => setTimeout(done, 5));
    try {
      const { code, error } = await codeOf(send(command('agent.spawn', spawnPayload('t-slow'), { jti })));
      expect(code).toBe('MESSAGE_IN_PROGRESS');
      expect(error.retryAfter).toBe(1);
      expect(spoke.orchestrator.spawnCalls).toBe(calls + 1);
    } finally {
      spoke.orchestrator.gate = undefined;
      open();
    }
    await first;
  });

  it('AGENT_ALREADY_TERMINAL (409), with the status', async () => {
    const { agentId } = (await send(command('agent.spawn', spawnPayload('t-done')))) as { agentId: string };
    spoke.orchestrator.complete(agentId, { summary: 'done' });
    const error = await expectRefusedWithoutEffect('AGENT_ALREADY_TERMINAL', () => send(command('agent.kill', { agentId })));
    expect(error.data).toEqual({ status: 'completed' });
  });

  it('PAYLOAD_TOO_LARGE (413)', async () => {
    const before = await state();
    const response = await rawPost('x'.repeat(257 * 1024));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await state()).toEqual(before);
  });

  it('PAYLOAD_TOO_LARGE (413) for a chunked body without a length, counted as it arrives', async () => {
    const before = await state();
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${spoke.url}/api/v1/federation/incoming/command`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/jwt' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await state()).toEqual(before);
  });

  it('RATE_LIMITED (429, Retry-After): over the connection\'s message rate', async () => {
    await patchGrants({ messagesPerMinute: 0 });
    try {
      const error = await expectRefusedWithoutEffect('RATE_LIMITED', () => send(command('agent.spawn', spawnPayload('t-fast'))));
      expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    } finally {
      await patchGrants({ messagesPerMinute: 600 });
    }
  });

  it('CONCURRENCY_LIMIT (429): the connection\'s agents are all running', async () => {
    const { agentId } = (await send(command('agent.spawn', spawnPayload('t-busy')))) as { agentId: string };
    const running = (await spoke.server.federation.stores.hostedAgents.listActive()).length;
    await patchGrants({ maxConcurrentAgents: running });
    try {
      await expectRefusedWithoutEffect('CONCURRENCY_LIMIT', () => send(command('agent.spawn', spawnPayload('t-more'))));
    } finally {
      await patchGrants({ maxConcurrentAgents: 100 });
      spoke.orchestrator.complete(agentId, { summary: 'done' });
    }
  });

  it('ORCHESTRATOR_UNAVAILABLE (503)', async () => {
    spoke.orchestrator.available = false;
    try {
      const before = await state();
      const { code } = await codeOf(send(command('agent.spawn', spawnPayload('t-down'))));
      expect(code).toBe('ORCHESTRATOR_UNAVAILABLE');
      // The call reached the orchestrator and was refused there: no agent, nothing stored.
      const after = await state();
      expect({ ...after, spawnCalls: before.spawnCalls }).toEqual(before);
      // The audit log says it was asked for, and undone, and why.
      const audit = await spoke.api<{ items: { action: string; target: string; after: unknown }[] }>('/api/v1/federation/audit?action=agent.spawn&limit=2');
      const [undone, asked] = audit.body.data.items;
      expect(undone).toMatchObject({ action: 'agent.spawn.undone', after: { reason: 'ORCHESTRATOR_UNAVAILABLE' } });
      expect(asked).toMatchObject({ action: 'agent.spawn', target: undone?.target, after: { taskId: 't-down' } });
    } finally {
      spoke.orchestrator.available = true;
    }
  });

  it('INTERNAL (500), without the details', async () => {
    spoke.orchestrator.failWith = new Error('disk on fire at /var/secret/path');
    try {
      const before = await state();
      const { code, error } = await codeOf(send(command('agent.spawn', spawnPayload('t-boom'))));
      expect(code).toBe('INTERNAL');
      expect(error.message).not.toContain('/var/secret/path');
      const after = await state();
      expect({ ...after, spawnCalls: before.spawnCalls }).toEqual(before);
    } finally {
      spoke.orchestrator.failWith = undefined;
    }
  });
});
