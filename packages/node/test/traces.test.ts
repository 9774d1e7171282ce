import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { inSpan } from '@mosaic-fed/sdk/tracing';
import { createOrchestratorService, HttpOrchestrator } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn, type ScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { silentLogger } from '@mosaic-fed/server';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrchestrator, startTracing, tracingFromEnv, type NodeOrchestrator, type Tracing } from '../src/index.js';
import { connectPeers, startPeer, type Peer } from './peers.js';

// One trace for one spawn, across two real instances on loopback and the spoke's
// orchestrator service: the hub's API request, its signed message, the spoke's handling
// of it, the orchestrator's run, each model turn (the Anthropic SDK's own spans) and
// each sandbox command. The W3C
// `traceparent` header is all that carries it from process to process (here, from
// server to server: they share one exporter, as a collector would gather them).
const work = mkdtempSync(join(tmpdir(), 'mosaic-traces-'));
const SERVICE_TOKEN = 'traces-test-orchestrator-token-0123456789';
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let model: ScriptedMessagesServer;
let agents: NodeOrchestrator;
let service: ReturnType<typeof serve>;
let hub: Peer;
let spoke: Peer;

beforeAll(async () => {
  tracing = await startTracing({ exporter, immediate: true, serviceName: 'mosaic-fed-test' });
  model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
  agents = await createNodeOrchestrator({
    dataDir: join(work, 'orchestrator'),
    logger: silentLogger,
    sandbox: 'unsafe-process',
    allowFileRepositories: true,
    anthropic: { apiKey: 'test-key', baseURL: model.url },
  });
  const app = createOrchestratorService({ orchestrator: agents.orchestrator, token: SERVICE_TOKEN });
  service = await new Promise((done) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => done(listening));
  });
  const orchestrator = new HttpOrchestrator({ url: `http://127.0.0.1:${(service.address() as AddressInfo).port}`, token: SERVICE_TOKEN });
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: orchestrator })]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
  await new Promise<void>((done) => {
    (service as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
    if (service === undefined) done();
    else service.close(() => done());
  });
  await agents?.close();
  await model?.close();
  await tracing?.shutdown();
  rmSync(work, { recursive: true, force: true });
});

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('traces', () => {
  it('follow a spawn in one trace from the hub API through the peer message to the spoke, its orchestrator, each model turn and each command', async () => {
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    exporter.reset();
    const repository = createDemoRepository(join(work, 'repo'));
    const { agentId } = await admin.spawn({
      connectionId: fromConnectionId,
      payload: { taskId: 'traced', agentType: 'worker', context: { repository, branch: 'main', instructions: 'Make sh test.sh pass.' } },
    });
    let last;
    for await (const event of admin.events(agentId)) last = event;
    expect(last?.status).toBe('completed');
    await tracing.flush();
    const spans = exporter.getFinishedSpans();

    const api = spans.find((span) => span.name === 'POST /api/v1/federation/agents/spawn');
    expect(api?.kind).toBe(SpanKind.SERVER);
    expect(api?.attributes['http.response.status_code']).toBe(201);
    const trace = spans.filter((span) => span.spanContext().traceId === api?.spanContext().traceId);
    const one = (name: string, parent?: ReadableSpan) => {
      const found = trace.filter((span) => span.name === name && (parent === undefined || parentOf(span) === idOf(parent)));
      expect(found, name).toHaveLength(1);
      return found[0] as ReadableSpan;
    };
    // The hub signs and sends the message; the spoke's request continues that span.
    const sent = one('send COMMAND agent.spawn', api);
    expect(sent.kind).toBe(SpanKind.CLIENT);
    expect(sent.attributes['mosaic_fed.peer.instance_id']).toBe(spoke.instanceId);
    const received = one('POST /api/v1/federation/incoming/:endpoint', sent);
    expect(received.kind).toBe(SpanKind.SERVER);
    const handled = one('COMMAND agent.spawn', received);
    expect(handled.attributes['mosaic_fed.peer.instance_id']).toBe(hub.instanceId);
    // The spoke's orchestrator is a service of its own: the trace crosses to it too.
    const serviceSpawn = one('POST /agents/spawn', handled);
    // The run starts after the spawn is answered, from the trace the spawn left with the agent.
    const run = one('agent.run', serviceSpawn);
    expect(run.attributes['mosaic_fed.agent.id']).toBe(agentId);
    const attempt = one('agent.attempt', run);
    one('workspace.checkout', attempt);
    expect(one('sandbox.create', attempt).attributes['mosaic_fed.sandbox.provider']).toBeDefined();
    // The model's turns, as the Anthropic SDK traces them, under the attempt: with their tokens.
    const conversation = one('anthropic.messages.tool_runner', attempt);
    const turns = trace.filter((span) => span.name === 'anthropic.messages.create');
    expect(turns).toHaveLength(4);
    expect(turns.every((turn) => parentOf(turn) === idOf(conversation) && Number(turn.attributes['gen_ai.usage.output_tokens']) > 0)).toBe(true);
    // Each command the agent ran, by its program's name alone, with its exit code.
    const commands = trace.filter((span) => span.name === 'sandbox.exec').map((span) => [span.attributes['process.executable.name'], span.attributes['process.exit.code']]);
    expect(commands).toEqual([
      ['cat', 0],
      ['sh', 0],
    ]);
    // The status events the spoke sends back join the trace too, on the hub's side as well.
    expect(trace.filter((span) => span.name === 'send EVENT agent.status.changed').length).toBeGreaterThanOrEqual(2);
    expect(trace.filter((span) => span.name === 'EVENT agent.status.changed' && span.attributes['mosaic_fed.peer.instance_id'] === spoke.instanceId).length).toBeGreaterThanOrEqual(2);
  });
});

describe('tracing from the environment', () => {
  it('is off without an OTLP endpoint, and sends spans as OTLP over HTTP to the one configured', async () => {
    expect(await tracingFromEnv({})).toBeUndefined();
    expect(await tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    // The test's own tracing gives way to the environment's for a moment.
    await tracing.shutdown();
    const received: { path: string; body: string }[] = [];
    const collector = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((done) => collector.listen(0, '127.0.0.1', done));
    try {
      const fromEnv = await tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`, OTEL_SERVICE_NAME: 'spoke-west' });
      expect(fromEnv).toBeDefined();
      await inSpan('a span for the collector', {}, async () => undefined);
      await fromEnv?.flush();
      await fromEnv?.shutdown();
      expect(received.map((request) => request.path)).toEqual(['/v1/traces']);
      expect(received[0]?.body).toContain('a span for the collector');
      expect(received[0]?.body).toContain('spoke-west');
    } finally {
      await new Promise((done) => collector.close(done));
      tracing = await startTracing({ exporter, immediate: true });
    }
  });
});
