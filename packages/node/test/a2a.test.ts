// A2A 1.0 (docs/protocol.md, "A2A"): a real instance on loopback, driven by the official
// @a2a-js/sdk client over both of its bindings (JSON-RPC and HTTP+JSON), with tokens an
// admin issued through the instance's API.
import { SendMessageRequest, TaskState, verifyAgentCardSignature, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import type { A2AClient, A2AClientCreated, AuditPage, HostedAgent } from '@mosaic-fed/core';
import { AdminClient } from '@mosaic-fed/sdk';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { destroyedAfterEachTest, eventually, sessionCookie, type Peer } from './peers.js';

const { peer: startPeer } = destroyedAfterEachTest();
afterEach(() => vi.restoreAllMocks());

type Binding = 'JSONRPC' | 'HTTP+JSON';

/** An SDK client of `peer` over one binding, sending `token`. */
async function a2aClient(peer: Peer, token: string, binding: Binding): Promise<Client> {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      preferredTransports: [binding],
    }),
  );
  return factory.createFromUrl(peer.url);
}

async function issueClient(peer: Peer, body: Record<string, unknown> = { name: 'ci bot' }): Promise<A2AClientCreated> {
  const created = await peer.api<A2AClientCreated>('/api/v1/federation/a2a-clients', { body });
  expect(created.status).toBe(201);
  return created.body.data;
}

/** A message that starts a task on a repository, with its work in text. */
function startMessage(messageId: string, options: { returnImmediately?: boolean; contextId?: string; repository?: string } = {}) {
  return SendMessageRequest.fromJSON({
    message: {
      messageId,
      role: 'ROLE_USER',
      ...(options.contextId === undefined ? {} : { contextId: options.contextId }),
      parts: [
        { data: { repository: options.repository ?? 'https://git.example.com/org/repo', branch: 'feature/fix-tests', workItems: ['item-1'] }, mediaType: 'application/json' },
        { text: 'Make the failing test pass.' },
      ],
    },
    configuration: { returnImmediately: options.returnImmediately ?? true },
  });
}

async function taskOf(result: Awaited<ReturnType<Client['sendMessage']>>): Promise<Task> {
  if (!('status' in result)) throw new Error('expected a task, got a message');
  return result;
}

/** The error a promise fails with. */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a failure');
}

describe('A2A: the agent card', () => {
  it('is published for the agent types the instance runs, with both bindings, and signed with the instance key', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const response = await fetch(`${spoke.url}/.well-known/agent-card.json`);
    expect(response.status).toBe(200);
    const card = (await response.json()) as {
      name: string;
      supportedInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[];
      skills: { id: string }[];
      securitySchemes: Record<string, unknown>;
      signatures: { protected: string; signature: string }[];
    };
    expect(card.name).toBe('Spoke');
    expect(card.supportedInterfaces).toEqual([
      { url: `${spoke.url}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: `${spoke.url}/a2a/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
    ]);
    expect(card.skills.map((skill) => skill.id)).toEqual(['worker', 'reviewer', 'tester']);
    expect(card.securitySchemes).toEqual({ bearer: { httpAuthSecurityScheme: expect.objectContaining({ scheme: 'Bearer' }) } });

    // Verified as A2A clients verify it: the SDK's own check, with the key the header's jku names.
    const keysFetched: string[] = [];
    await verifyAgentCardSignature(async (kid, jku) => {
      keysFetched.push(jku ?? '');
      const { keys } = (await (await fetch(jku ?? '')).json()) as { keys: JWK[] };
      const jwk = keys.find((key) => key.kid === kid);
      if (jwk === undefined) throw new Error('no such key');
      return jwk;
    })(card as never);
    expect(keysFetched).toEqual([`${spoke.url}/.well-known/jwks.json`]);
    const document = (await (await fetch(`${spoke.url}/.well-known/mosaic-federation`)).json()) as { keys: JWK[] };
    const header = JSON.parse(Buffer.from(card.signatures[0]?.protected ?? '', 'base64url').toString()) as { kid: string; alg: string };
    expect(header).toMatchObject({ alg: 'EdDSA', kid: document.keys[0]?.kid });

    // A changed card is refused by the same check (which logs each signature it rejects: not here).
    vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    const key = document.keys[0];
    if (key === undefined) throw new Error('the instance has no key');
    await expect(verifyAgentCardSignature(async () => key)({ ...card, name: 'Someone else' } as never)).rejects.toThrow(/No valid signatures/);
  });
});

describe("A2A: what is not a request it can serve gets A2A's own error", () => {
  it('over JSON-RPC: not JSON, not JSON-RPC, a method it lacks, the extended card, a version it does not speak', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke);
    const rpc = async (body: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${spoke.url}/a2a/jsonrpc`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers }, body });
      return (await response.json()) as { id: unknown; error?: { code: number; message: string } };
    };
    const call = (method: string, headers?: Record<string, string>) => rpc(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: {} }), headers);
    expect(await rpc('{"jsonrpc":')).toMatchObject({ id: null, error: { code: -32700, message: 'the body is not JSON' } });
    expect(await rpc(JSON.stringify({ id: 1, method: 'GetTask' }))).toMatchObject({ id: null, error: { code: -32600, message: 'not a JSON-RPC 2.0 request' } });
    expect(await call('Teleport')).toMatchObject({ id: 7, error: { code: -32601, message: 'there is no method Teleport' } });
    expect(await call('GetExtendedAgentCard')).toMatchObject({ id: 7, error: { code: -32004 } });
    expect(await call('GetTask', { 'A2A-Version': '0.3' })).toMatchObject({ id: 7, error: { code: -32009, message: expect.stringContaining('not 0.3') } });
    expect(await rpc(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'GetTask', params: { id: 42 } }))).toMatchObject({ id: 8, error: { code: -32602, message: expect.stringMatching(/^id: /) } });
  });

  it('over HTTP+JSON: a body that is not JSON or not an object, a path it lacks, the extended card', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke);
    const rest = async (method: string, path: string, body?: string) => {
      const response = await fetch(`${spoke.url}/a2a/rest${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body }) });
      return { status: response.status, body: (await response.json()) as { error: { code: number; status: string; message: string } } };
    };
    expect(await rest('POST', '/message:send', 'not json')).toMatchObject({ status: 400, body: { error: { status: 'INVALID_ARGUMENT', message: 'the body is not JSON' } } });
    expect(await rest('POST', '/tasks/some-task/pushNotificationConfigs', '[1, 2]')).toMatchObject({ status: 400, body: { error: { message: 'the body is not a JSON object' } } });
    expect(await rest('GET', '/teleport')).toMatchObject({ status: 404, body: { error: { status: 'NOT_FOUND', message: 'there is no GET /teleport' } } });
    expect(await rest('GET', '/extendedAgentCard')).toMatchObject({ status: 400, body: { error: { status: 'FAILED_PRECONDITION' } } });
  });
});

describe('A2A: clients are principals', () => {
  it('are issued, listed, changed and revoked by admins, audited, never showing their token again', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { client, token } = await issueClient(spoke, { name: 'ci bot', grants: { maxConcurrentAgents: 1, allowedAgentTypes: ['worker'] } });
    expect(token).toMatch(/^mfc_/);
    expect(client.grants).toMatchObject({ maxConcurrentAgents: 1, allowedAgentTypes: ['worker'], allowedCommands: ['agent.spawn', 'agent.status', 'agent.kill', 'agents.list'] });
    const listed = await spoke.api<A2AClient[]>('/api/v1/federation/a2a-clients');
    expect(listed.body.data).toEqual([client]);
    expect(JSON.stringify(listed.body)).not.toContain(token);

    // The SDK's admin client does the same.
    const admin = new AdminClient({ url: spoke.url, token: spoke.token });
    expect(await admin.a2aClients()).toEqual([client]);
    const renamed = await admin.updateA2AClient(client.id, { name: 'release bot', grants: { maxConcurrentAgents: 3 } });
    expect(renamed).toMatchObject({ name: 'release bot', grants: { maxConcurrentAgents: 3, allowedAgentTypes: ['worker'] } });
    const other = await admin.createA2AClient({ name: 'other' });
    expect((await admin.revokeA2AClient(other.client.id)).revokedAt).not.toBeNull();
    const unknown = await spoke.api('/api/v1/federation/a2a-clients/3f1c9a70-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const bad = await spoke.api('/api/v1/federation/a2a-clients', { body: { name: '' } });
    expect(bad.status).toBe(400);

    const a2a = await a2aClient(spoke, token, 'JSONRPC');
    await a2a.sendMessage(startMessage('m-1'));

    const revoked = await spoke.api<A2AClient>(`/api/v1/federation/a2a-clients/${client.id}`, { method: 'DELETE' });
    expect(revoked.body.data.revokedAt).not.toBeNull();
    const refused = await fetch(`${spoke.url}/a2a/jsonrpc`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', id: 1, error: { data: [{ reason: 'UNAUTHORIZED', domain: 'mosaic-fed' }] } });
    const changeRevoked = await spoke.api(`/api/v1/federation/a2a-clients/${client.id}`, { method: 'PATCH', body: { name: 'again' } });
    expect(changeRevoked.status).toBe(400);

    const audit = await spoke.api<AuditPage>('/api/v1/federation/audit?limit=50');
    const actions = audit.body.data.items.map((entry) => `${entry.action} ${entry.actor.type}`);
    expect(actions).toEqual(expect.arrayContaining(['a2a-client.create admin-token', 'a2a-client.update admin-token', 'a2a-client.revoke admin-token', 'agent.spawn a2a-client']));
    expect(JSON.stringify(audit.body.data)).not.toContain(token);
  });

  it("refuses what the grants do not allow, and answers another client's task as not found", async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const first = await issueClient(spoke, { name: 'first', grants: { allowedCommands: ['agent.spawn', 'agent.status'], maxConcurrentAgents: 1, repositories: ['https://git.example.com/org/*'] } });
    const second = await issueClient(spoke, { name: 'second' });
    const mine = await a2aClient(spoke, first.token, 'JSONRPC');
    const theirs = await a2aClient(spoke, second.token, 'HTTP+JSON');

    const task = await taskOf(await mine.sendMessage(startMessage('m-1')));
    // Not granted: agent.kill.
    expect(await failure(mine.cancelTask({ id: task.id, tenant: '', metadata: undefined }))).toMatchObject({ message: expect.stringMatching(/do not allow agent.kill/) });
    // Over the concurrency grant.
    expect((await failure(mine.sendMessage(startMessage('m-2')))).message).toMatch(/already has 1 agents running/);
    // A repository the grants do not name.
    expect((await failure(mine.sendMessage(startMessage('m-3', { repository: 'https://evil.example.com/x/y' })))).message).toMatch(/do not allow this repository/);

    // Another client's task, through either binding: exactly as a missing one.
    const missing = await failure(theirs.getTask({ id: '00000000-0000-4000-8000-000000000000', tenant: '' }));
    const foreign = await failure(theirs.getTask({ id: task.id, tenant: '' }));
    expect(foreign.name).toBe('TaskNotFoundError');
    expect(foreign.message).toBe(missing.message);
    expect((await failure(theirs.cancelTask({ id: task.id, tenant: '', metadata: undefined }))).name).toBe('TaskNotFoundError');
    expect((await theirs.listTasks({ tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined })).tasks).toEqual([]);
    expect(spoke.orchestrator.agents.get(task.id)?.status.status).toBe('spawning');
  });

  it("counts a client's agents' tokens against its daily budget, as a connection's", async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke, { name: 'thrifty', grants: { tokensPerDay: 1_000 } });
    const a2a = await a2aClient(spoke, token, 'JSONRPC');
    const first = await taskOf(await a2a.sendMessage(startMessage('m-1')));
    spoke.orchestrator.start(first.id);
    spoke.orchestrator.progress(first.id, 3, 'Reading', { inputTokens: 900, outputTokens: 200 });
    // Once the watcher stored the status that says so.
    await eventually(async () => (await spoke.server.federation.stores.hostedAgents.get(first.id))?.status.progress?.usage !== undefined);
    const refused = await failure(a2a.sendMessage(startMessage('m-2')));
    expect(refused.message).toMatch(/used its 1,000 model tokens for today/);
    expect(refused).toMatchObject({ envelopeCode: -31429 });
    expect(spoke.orchestrator.started).toBe(1);
  });
});

describe.each<Binding>(['JSONRPC', 'HTTP+JSON'])('A2A over %s', (binding) => {
  it('starts an agent from a message, reports it as a task, and hands back its work as artifacts', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { client, token } = await issueClient(spoke);
    const a2a = await a2aClient(spoke, token, binding);

    const task = await taskOf(await a2a.sendMessage(startMessage('m-1', { contextId: 'TASK-7' })));
    expect(task.contextId).toBe('TASK-7');
    expect(task.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
    const spawned = spoke.orchestrator.agents.get(task.id);
    expect(spawned?.request.ownerInstanceId).toBe(client.id);
    expect(spawned?.request.spec).toMatchObject({
      taskId: 'TASK-7',
      agentType: 'worker',
      context: { repository: 'https://git.example.com/org/repo', branch: 'feature/fix-tests', workItems: ['item-1'], instructions: 'Make the failing test pass.' },
    });
    const hosted = await spoke.api<HostedAgent>(`/api/v1/federation/hosted-agents/${task.id}`);
    expect(hosted.body.data).toMatchObject({ via: 'a2a', connectionId: client.id, ownerInstanceId: client.id });
    // The admin's pages name the client the agent runs for.
    const cookie = await sessionCookie(spoke);
    for (const page of ['/federation/agents', `/federation/hosted/${task.id}`]) {
      expect(await (await fetch(`${spoke.url}${page}`, { headers: { Cookie: cookie } })).text()).toContain('A2A client ci bot');
    }

    spoke.orchestrator.start(task.id);
    expect((await a2a.getTask({ id: task.id, tenant: '' })).status?.state).toBe(TaskState.TASK_STATE_WORKING);
    spoke.orchestrator.complete(task.id, { summary: 'Fixed the parser.', patch: 'diff --git a/x b/x\n', usage: { inputTokens: 10, outputTokens: 5 } });
    const done = await a2a.getTask({ id: task.id, tenant: '' });
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(done.artifacts.map((artifact) => [artifact.artifactId, artifact.parts[0]?.content?.value, artifact.parts[0]?.mediaType])).toEqual([
      ['summary', 'Fixed the parser.', 'text/plain'],
      ['patch', 'diff --git a/x b/x\n', 'text/x-diff'],
    ]);
    expect(done.metadata).toMatchObject({ agentType: 'worker', usage: { inputTokens: 10, outputTokens: 5 } });

    // Finished: it cannot be canceled, and the list has it.
    expect((await failure(a2a.cancelTask({ id: task.id, tenant: '', metadata: undefined }))).name).toBe('TaskNotCancelableError');
    const listed = await a2a.listTasks({ tenant: '', contextId: 'TASK-7', status: TaskState.TASK_STATE_COMPLETED, pageToken: '', statusTimestampAfter: undefined });
    expect(listed.tasks.map((t) => t.id)).toEqual([task.id]);
    expect(listed.totalSize).toBe(1);
  });

  it('starts nothing twice for a message sent again, and refuses other content under the same messageId', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke);
    const a2a = await a2aClient(spoke, token, binding);
    const [one, two] = await Promise.all([a2a.sendMessage(startMessage('m-1')), a2a.sendMessage(startMessage('m-1'))].map((p) => p.then(taskOf, (error: Error) => error)));
    // A copy that arrives while the first runs is told to come back, never run twice.
    const tasks = [one, two].filter((result): result is Task => !(result instanceof Error));
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    const again = await taskOf(await a2a.sendMessage(startMessage('m-1')));
    expect(new Set([...tasks.map((t) => t.id), again.id]).size).toBe(1);
    expect(spoke.orchestrator.started).toBe(1);

    const conflict = await failure(a2a.sendMessage(startMessage('m-1', { repository: 'https://git.example.com/org/other' })));
    expect(conflict.message).toMatch(/messageId was sent before with other content/);
    expect(spoke.orchestrator.started).toBe(1);
  });

  it('cancels for real, and streams the task from start to end, resumable after any event', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke);
    const a2a = await a2aClient(spoke, token, binding);

    const running = await taskOf(await a2a.sendMessage(startMessage('m-cancel')));
    spoke.orchestrator.start(running.id);
    const canceled = await a2a.cancelTask({ id: running.id, tenant: '', metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    expect(spoke.orchestrator.agents.get(running.id)?.status.status).toBe('killed');

    const seen: string[] = [];
    let agentId = '';
    for await (const event of a2a.sendMessageStream(startMessage('m-stream'))) {
      const payload = event.payload;
      if (payload?.$case === 'task') {
        agentId = payload.value.id;
        seen.push(`task ${TaskState[payload.value.status?.state ?? 0]}`);
        spoke.orchestrator.start(agentId);
      } else if (payload?.$case === 'statusUpdate') {
        const state = payload.value.status?.state ?? 0;
        seen.push(`status ${TaskState[state]}`);
        if (state === TaskState.TASK_STATE_WORKING && !seen.includes('status TASK_STATE_INPUT_REQUIRED')) {
          spoke.orchestrator.ask(agentId, { id: 'plan-1', kind: 'plan', summary: 'Change the parser' });
        }
        if (state === TaskState.TASK_STATE_INPUT_REQUIRED) {
          expect(payload.value.status?.message?.parts.map((part) => part.content?.$case)).toEqual(['text', 'data']);
          // The answer is a message to the task, with the decision as data.
          const answer = SendMessageRequest.fromJSON({
            message: { messageId: 'm-answer', role: 'ROLE_USER', taskId: agentId, parts: [{ data: { decision: 'approve' } }, { text: 'Go ahead.' }] },
            configuration: { returnImmediately: true },
          });
          await a2a.sendMessage(answer);
          expect(spoke.orchestrator.answers).toEqual([{ agentId, approvalId: 'plan-1', decision: 'approve', note: 'Go ahead.' }]);
          spoke.orchestrator.complete(agentId, { summary: 'Done.' });
        }
      } else if (payload?.$case === 'artifactUpdate') {
        seen.push(`artifact ${payload.value.artifact?.artifactId ?? ''}`);
      }
    }
    expect(seen).toEqual([
      'task TASK_STATE_SUBMITTED',
      'status TASK_STATE_WORKING',
      'status TASK_STATE_INPUT_REQUIRED',
      'status TASK_STATE_WORKING',
      'artifact summary',
      'status TASK_STATE_COMPLETED',
    ]);

    // A finished task has nothing to subscribe to, unless a stream resumes: then it gets
    // what came after the last event it saw, here the end.
    expect((await failure(drain(a2a.resubscribeTask({ id: agentId, tenant: '' })))).name).toBe('UnsupportedOperationError');
    const events = spoke.orchestrator.agents.get(agentId)?.events ?? [];
    const beforeEnd = events.at(-2)?.sequence ?? 0;
    const resumed = await drain(a2a.resubscribeTask({ id: agentId, tenant: '' }, { serviceParameters: { 'Last-Event-ID': String(beforeEnd) } }));
    expect(resumed.map((event) => event.payload?.$case)).toEqual(['artifactUpdate', 'statusUpdate']);
  });

  it('answers a blocking send once the agent is done', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const { token } = await issueClient(spoke);
    const a2a = await a2aClient(spoke, token, binding);
    const sent = a2a.sendMessage(startMessage('m-block', { returnImmediately: false }));
    const agentId = await eventually(() => {
      const [id] = spoke.orchestrator.agents.keys();
      if (id === undefined) throw new Error('no agent yet');
      return id;
    });
    spoke.orchestrator.start(agentId);
    spoke.orchestrator.fail(agentId, 'the tests do not build');
    const task = await taskOf(await sent);
    expect(task.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(task.status?.message?.parts[0]?.content?.value).toBe('the tests do not build');
  });
});

/** A webhook on loopback that answers each notification with the next status of `statuses` (then 200). */
async function webhook(statuses: number[] = []) {
  const received: { headers: IncomingHttpHeaders; body: string; status: number }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const status = statuses.shift() ?? 200;
      received.push({ headers: request.headers, body, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/hooks/a2a`,
    received,
    delivered: () => received.filter((r) => r.status === 200),
    destroy: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('A2A push notifications', () => {
  const { track } = destroyedAfterEachTest();

  it('tells the URL of every change through the outbox, retried, in order, signed, with the credentials sealed at rest', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const hook = track(await webhook([503]));
    const { token } = await issueClient(spoke);
    const a2a = await a2aClient(spoke, token, 'JSONRPC');
    const request = startMessage('m-push');
    const configuration = request.configuration;
    if (configuration === undefined) throw new Error('no configuration');
    configuration.taskPushNotificationConfig = { tenant: '', id: 'hook-1', taskId: '', url: hook.url, token: 'session-7', authentication: { scheme: 'Bearer', credentials: 'webhook-secret' } };
    const task = await taskOf(await a2a.sendMessage(request));

    spoke.orchestrator.start(task.id);
    spoke.orchestrator.complete(task.id, { summary: 'Done.', patch: 'diff --git a/x b/x\n' });
    const delivered = await eventually(() => {
      const ok = hook.delivered();
      if (ok.length < 5) throw new Error(`${ok.length} delivered`);
      return ok;
    });
    const bodies = delivered.map((r) => JSON.parse(r.body) as Record<string, { status?: { state: string }; artifact?: { artifactId: string } }>);
    expect(bodies.map((b) => b.statusUpdate?.status?.state ?? `artifact ${b.artifactUpdate?.artifact?.artifactId ?? ''}`)).toEqual([
      'TASK_STATE_SUBMITTED',
      'TASK_STATE_WORKING',
      'artifact summary',
      'artifact patch',
      'TASK_STATE_COMPLETED',
    ]);
    // The first was refused once (503) and sent again as the same notification.
    expect(hook.received[0]?.status).toBe(503);
    expect(hook.received[0]?.headers['mosaic-fed-notification-id']).toBe(delivered[0]?.headers['mosaic-fed-notification-id']);
    for (const { headers, body } of delivered) {
      expect(headers['content-type']).toBe('application/a2a+json');
      expect(headers.authorization).toBe('Bearer webhook-secret');
      expect(headers['x-a2a-notification-token']).toBe('session-7');
      // Signed by the instance key that the card's jku serves, for this URL and this body.
      const { keys } = (await (await fetch(`${spoke.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
      const { payload } = await jwtVerify(String(headers['mosaic-fed-signature']), createLocalJWKSet({ keys }), { issuer: spoke.url, audience: hook.url, algorithms: ['EdDSA'] });
      expect(payload).toMatchObject({ taskId: task.id, jti: headers['mosaic-fed-notification-id'] });
      expect(payload.bodySha256).toBe(Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body))).toString('base64url'));
    }

    // The client sees its config, never the token or credentials; nor does the database file.
    const config = await a2a.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'hook-1' });
    expect(config).toMatchObject({ id: 'hook-1', taskId: task.id, url: hook.url, token: '', authentication: { scheme: 'Bearer', credentials: '' } });
    const files = readdirSync(spoke.dataDir).filter((name) => name.endsWith('.db') || name.endsWith('.db-wal'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) expect(readFileSync(join(spoke.dataDir, name)).includes('webhook-secret')).toBe(false);
  });

  it("refuses a URL the outbound policy forbids, keeps configs to the task's client, and stops telling a deleted one", async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const hook = track(await webhook());
    const mine = await issueClient(spoke, { name: 'mine' });
    const theirs = await issueClient(spoke, { name: 'theirs' });
    const a2a = await a2aClient(spoke, mine.token, 'HTTP+JSON');
    const other = await a2aClient(spoke, theirs.token, 'HTTP+JSON');
    const task = await taskOf(await a2a.sendMessage(startMessage('m-1')));

    const metadata = { tenant: '', taskId: task.id, token: '', authentication: undefined };
    const refused = await failure(a2a.createTaskPushNotificationConfig({ ...metadata, id: 'x', url: 'http://169.254.169.254/latest/meta-data' }));
    expect(refused.message).toMatch(/may not call that URL/);
    expect((await failure(other.createTaskPushNotificationConfig({ ...metadata, id: 'y', url: hook.url }))).name).toBe('TaskNotFoundError');

    await a2a.createTaskPushNotificationConfig({ ...metadata, id: 'hook-1', url: hook.url });
    expect((await a2a.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs.map((c) => c.id)).toEqual(['hook-1']);
    spoke.orchestrator.start(task.id);
    await eventually(() => hook.delivered().length === 1);
    await a2a.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'hook-1' });
    expect((await failure(a2a.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'hook-1' }))).name).toBe('TaskNotFoundError');
    spoke.orchestrator.complete(task.id, { summary: 'Done.' });
    await eventually(async () => (await a2a.getTask({ id: task.id, tenant: '' })).status?.state === TaskState.TASK_STATE_COMPLETED);
    await spoke.server.federation.outbox.deliverDue();
    expect(hook.received).toHaveLength(1);
  });
});

async function drain<T>(events: AsyncGenerator<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** The A2A agent of fixtures/a2a-coding-agent.mjs, built with the official SDK's server, in its own process. */
async function sdkAgent(env: Record<string, string>) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/a2a-coding-agent.mjs', import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the A2A agent exited with ${String(code)}`)));
  });
  return {
    url,
    received: async () =>
      (await (await fetch(`${url}/test/received`)).json()) as {
        received: { taskId: string; contextId: string; messageId: string; parts: Record<string, unknown>[] }[];
        canceled: string[];
        authorizations: (string | null)[];
      },
    destroy: async () => {
      child.kill();
      await new Promise((done) => child.once('exit', done));
    },
  };
}

describe.each<Binding>(['JSONRPC', 'HTTP+JSON'])('an instance using an A2A agent built with the SDK, over %s', (binding) => {
  const { track } = destroyedAfterEachTest();

  it('adds it by its card, starts agents on it through the API, watches them end, and cancels one for real', async () => {
    const agent = track(await sdkAgent({ A2A_TOKEN: 'agent-issued-token', A2A_BINDING: binding }));
    const hub = await startPeer({ name: 'Hub', federation: { a2aPollIntervalMs: 100 } });
    const admin = new AdminClient({ url: hub.url, token: hub.token });

    const added = await admin.addA2AAgent({ url: agent.url, token: 'agent-issued-token' });
    expect(added).toMatchObject({ name: 'SDK coding agent', binding, cardUrl: `${agent.url}/.well-known/agent-card.json`, sendsToken: true });
    expect(await admin.a2aAgents()).toEqual([added]);

    // A spawn on it, as on a peer: its id where a connection's goes.
    const spawned = await admin.spawn({
      connectionId: added.id,
      payload: {
        taskId: 'TASK-42',
        agentType: 'worker',
        context: { repository: 'https://git.example.com/org/repo', branch: 'main', workItems: ['fix the parser'], instructions: 'Make the date test pass.' },
      },
    });
    const done = await eventually(async () => {
      const status = await admin.status(spawned.agentId);
      if (status.status !== 'completed') throw new Error(status.status);
      return status;
    });
    expect(done.result).toMatchObject({ summary: 'Fixed the date parser.', patch: 'diff --git a/date.js b/date.js\n' });
    const seen = await agent.received();
    expect(seen.received[0]).toMatchObject({
      contextId: 'TASK-42',
      parts: [
        { $case: 'data', value: { repository: 'https://git.example.com/org/repo', branch: 'main', agentType: 'worker', workItems: ['fix the parser'] } },
        { $case: 'text', value: 'Make the date test pass.' },
      ],
    });
    expect(new Set(seen.authorizations)).toEqual(new Set(['Bearer agent-issued-token']));
    // The hub's own event stream has the agent's moves, numbered.
    const events = await hub.server.federation.stores.remoteAgents.events(spawned.agentId, 0);
    expect(events.map((event) => event.status)).toEqual(expect.arrayContaining(['running', 'completed']));
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    // The admin's pages: the agent on the A2A page, a target of the spawn form, and the name on the agent's page.
    const cookie = await sessionCookie(hub);
    const page = async (path: string) => (await fetch(`${hub.url}${path}`, { headers: { Cookie: cookie } })).text();
    expect(await page('/federation/a2a-clients')).toContain('SDK coding agent');
    expect(await page('/federation/agents')).toMatch(/<optgroup label="A2A agents"><option value="[^"]+">SDK coding agent \(A2A\)<\/option>/);
    expect(await page(`/federation/agents/${spawned.agentId}`)).toContain('SDK coding agent (A2A)');

    // One that works until canceled: the kill reaches the agent, and the state follows.
    const endless = await admin.spawn({
      connectionId: added.id,
      payload: { taskId: 'TASK-43', agentType: 'worker', context: { repository: 'https://git.example.com/org/repo', branch: 'main', instructions: 'Work until canceled.' } },
    });
    await eventually(async () => (await admin.status(endless.agentId)).status === 'running');
    await admin.kill(endless.agentId);
    expect((await agent.received()).canceled).toHaveLength(1);
    await eventually(async () => (await admin.status(endless.agentId)).status === 'killed');
    // A terminal state never changes, and the audit log has the spawns and the kill.
    const audit = await admin.audit({ limit: 50 });
    expect(audit.items.map((entry) => entry.action)).toEqual(expect.arrayContaining(['a2a-agent.add', 'agent.spawn', 'agent.kill']));
    expect(JSON.stringify(audit.items)).not.toContain('agent-issued-token');
  });

  it('refuses an address with no card, or one the outbound policy forbids', async () => {
    const hub = await startPeer({ name: 'Hub' });
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    await expect(admin.addA2AAgent({ url: `${hub.url}/nothing-here` })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(admin.addA2AAgent({ url: 'http://169.254.169.254/latest' })).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    // The page's form says so beside the address, and keeps it.
    const cookie = await sessionCookie(hub);
    const form = await (await fetch(`${hub.url}/federation/a2a-clients`, { headers: { Cookie: cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
    const refused = await fetch(`${hub.url}/federation/a2a-agents`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: hub.url, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, url: `${hub.url}/nothing-here` }),
    });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('No A2A agent this instance can use answered there');
    expect(html).toContain(`value="${hub.url}/nothing-here"`);
    expect(await admin.a2aAgents()).toEqual([]);
  });
});

describe('an instance using another instance as an A2A agent', () => {
  it('starts an agent there with its A2A client token, answers its approval, and gets its work back', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const hub = await startPeer({ name: 'Hub', federation: { a2aPollIntervalMs: 100 } });
    const { client, token } = await issueClient(spoke, { name: 'the hub' });
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const added = await admin.addA2AAgent({ url: spoke.url, token });
    expect(added).toMatchObject({ name: 'Spoke', binding: 'JSONRPC', endpoint: `${spoke.url}/a2a/jsonrpc` });

    const spawned = await admin.spawn({
      connectionId: added.id,
      payload: { taskId: 'TASK-9', agentType: 'worker', context: { repository: 'https://git.example.com/org/repo', branch: 'main', instructions: 'Fix it.' }, options: { approval: 'plan' } },
    });
    const [remoteId] = await eventually(() => {
      const ids = [...spoke.orchestrator.agents.keys()];
      if (ids.length === 0) throw new Error('not yet');
      return ids;
    });
    const started = spoke.orchestrator.agents.get(remoteId ?? '');
    expect(started?.request).toMatchObject({ ownerInstanceId: client.id, spec: { taskId: 'TASK-9', options: { approval: 'plan' }, context: { instructions: 'Fix it.' } } });

    spoke.orchestrator.start(remoteId ?? '');
    spoke.orchestrator.ask(remoteId ?? '', { id: 'plan-1', kind: 'plan', summary: 'Change the parser' });
    const waiting = await eventually(async () => {
      const status = await admin.status(spawned.agentId);
      if (status.status !== 'waiting') throw new Error(status.status);
      return status;
    });
    expect(waiting.pendingApproval).toEqual({ id: 'plan-1', kind: 'plan', summary: 'Change the parser' });
    await admin.respond(spawned.agentId, { approvalId: 'plan-1', decision: 'approve', note: 'Go ahead.' });
    expect(spoke.orchestrator.answers).toEqual([{ agentId: remoteId, approvalId: 'plan-1', decision: 'approve', note: 'Go ahead.' }]);

    spoke.orchestrator.complete(remoteId ?? '', { summary: 'Fixed.', patch: 'diff --git a/x b/x\n' });
    const done = await eventually(async () => {
      const status = await admin.status(spawned.agentId, { refresh: true });
      if (status.status !== 'completed') throw new Error(status.status);
      return status;
    });
    expect(done.result).toMatchObject({ summary: 'Fixed.', patch: 'diff --git a/x b/x\n' });
  });

  it("maps the agent's refusals to our codes, fails its agent with the reason it gives, and ends the agents of an A2A agent removed", async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const hub = await startPeer({ name: 'Hub', federation: { a2aPollIntervalMs: 100 } });
    const { token } = await issueClient(spoke, { name: 'the hub', grants: { allowedCommands: ['agent.spawn', 'agent.status'], repositories: ['https://git.example.com/org/*'] } });
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const added = await admin.addA2AAgent({ url: spoke.url, token });
    const payload = (taskId: string, repository = 'https://git.example.com/org/repo') => ({
      taskId,
      agentType: 'worker' as const,
      context: { repository, branch: 'main', instructions: 'Fix it.' },
    });

    // The spoke's refusal comes back as its own code (FORBIDDEN), with its words.
    await expect(admin.spawn({ connectionId: added.id, payload: payload('TASK-1', 'https://elsewhere.example.com/x/y') })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/^the A2A agent said: .*do not allow this repository/),
    });

    // An agent that fails there fails here, with the reason it gave.
    const failing = await admin.spawn({ connectionId: added.id, payload: payload('TASK-2') });
    const [failingThere] = await eventually(() => {
      const ids = [...spoke.orchestrator.agents.keys()];
      if (ids.length === 0) throw new Error('not yet');
      return ids;
    });
    spoke.orchestrator.fail(failingThere ?? '', 'the tests would not build');
    const failed = await eventually(async () => {
      const status = await admin.status(failing.agentId);
      if (status.status !== 'failed') throw new Error(status.status);
      return status;
    });
    expect(failed.error).toContain('the tests would not build');

    // Removed while one of its agents runs: that agent ends failed, saying why; removed twice: not found.
    const running = await admin.spawn({ connectionId: added.id, payload: payload('TASK-3') });
    await eventually(() => spoke.orchestrator.agents.size === 2);
    await admin.removeA2AAgent(added.id);
    expect(await admin.a2aAgents()).toEqual([]);
    const ended = await eventually(async () => {
      const status = await admin.status(running.agentId);
      if (status.status !== 'failed') throw new Error(status.status);
      return status;
    });
    expect(ended.error).toBe('the A2A agent it runs on was removed from this instance');
    await expect(admin.removeA2AAgent(added.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
