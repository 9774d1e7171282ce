import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { AgentSpawnPayloadSchema, InstanceDocumentSchema, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { HttpOrchestrator } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { connectTestRedis, createTempDir, deleteKeys } from '../../server/test/helpers.js';
import { createPostgresSchema, testPostgresAnswers } from '../../../test/postgres.js';
import { killStarted, runCli, startCli, stopProcess } from './processes.js';

// `mosaic-fed` on PostgreSQL (MOSAIC_FED_DATABASE_URL=postgres://...), as separate
// processes: what one process writes, another with another data directory reads.
afterEach(killStarted);

const postgres = await testPostgresAnswers();
const TOKEN = 'postgres-test-orchestrator-token-0123456789';

describe.runIf(postgres)('mosaic-fed on PostgreSQL', () => {
  it('keeps the instance, its tokens and its audit in the database: a replica with another data directory is the same instance', async () => {
    const dir = createTempDir();
    const schema = await createPostgresSchema();
    try {
      const env = { MOSAIC_FED_DATABASE_URL: schema.url, MOSAIC_FED_SECRET: 'a-shared-secret-of-the-replicas-0123456789' };
      const created = runCli(['token', 'create', '--data-dir', join(dir.path, 'one'), '--label', 'ops'], dir.path, env);
      expect(created.status, created.stderr).toBe(0);
      const token = created.stdout.trim();
      const first = await startCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'one')], dir.path, env, 'listening');
      const second = await startCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'two')], dir.path, env, 'listening');
      const documentOf = async (port: unknown) => InstanceDocumentSchema.parse(await (await fetch(`http://127.0.0.1:${String(port)}/.well-known/mosaic-federation`)).json());
      const [a, b] = [await documentOf(first.listening.port), await documentOf(second.listening.port)];
      expect(b.instanceId).toBe(a.instanceId);
      expect(b.keys).toEqual(a.keys);
      // A token made through one replica signs in on the other; its audit is shared.
      const admin = new AdminClient({ url: `http://127.0.0.1:${String(second.listening.port)}`, token });
      expect((await admin.instance()).instanceId).toBe(a.instanceId);
      expect((await admin.audit({ limit: 50 })).items.map((entry) => entry.action)).toEqual(expect.arrayContaining(['instance.initialise', 'admin-token.create']));
      // Nothing of the database went to the data directories.
      for (const data of ['one', 'two']) expect(existsSync(join(dir.path, data, 'mosaic-fed.db'))).toBe(false);
      expect(await stopProcess(first, 'SIGTERM')).toBe(0);
      expect(await stopProcess(second, 'SIGTERM')).toBe(0);
    } finally {
      await schema.drop();
      dir.remove();
    }
  }, 60_000);

  it("keeps agents' state there: an orchestrator service started afresh elsewhere still knows the agent, its transcript and its bundle", async () => {
    const dir = createTempDir();
    const schema = await createPostgresSchema();
    const model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
    try {
      const repository = createDemoRepository(join(dir.path, 'repo'));
      const env = {
        MOSAIC_FED_DATABASE_URL: schema.url,
        MOSAIC_FED_ORCHESTRATOR_TOKEN: TOKEN,
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: model.url,
        MOSAIC_FED_SANDBOX: 'unsafe-process',
        MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
      };
      const start = (data: string) => startCli(['orchestrator', '--port', '0', '--data-dir', join(dir.path, data)], dir.path, env, 'orchestrator service listening');
      const clientOf = (served: Awaited<ReturnType<typeof start>>) => new HttpOrchestrator({ url: `http://127.0.0.1:${String(served.listening.port)}`, token: TOKEN });
      const first = await start('one');
      const agentId = randomUUID();
      await clientOf(first).spawn({
        agentId,
        ownerInstanceId: randomUUID(),
        spec: AgentSpawnPayloadSchema.parse({ taskId: 'pg', agentType: 'worker', context: { repository, branch: 'main' } }),
      });
      let last: AgentStatusChangedPayload | undefined;
      for await (const event of clientOf(first).watch(agentId)) last = event;
      expect(last?.status).toBe('completed');
      expect(await stopProcess(first, 'SIGTERM')).toBe(0);
      expect(existsSync(join(dir.path, 'one', 'orchestrator.db'))).toBe(false);

      const second = await start('two');
      const again = clientOf(second);
      expect(await again.getStatus(agentId)).toMatchObject({ status: 'completed', result: { patch: expect.stringContaining('+  echo $(($1 + $2))') } });
      const events: AgentStatusChangedPayload[] = [];
      for await (const event of again.watch(agentId)) events.push(event);
      expect(events.map((event) => event.sequence)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
      expect((await again.transcript(agentId, { after: 0, limit: 100 })).length).toBeGreaterThan(0);
      // The agent's commits, as a git bundle kept in the database.
      const bundle = last?.result?.bundle;
      expect(bundle).toBeDefined();
      const chunk = await again.bundle(agentId, { offset: 0 });
      expect({ sha256: chunk.sha256, bytes: chunk.bytes }).toEqual({ sha256: bundle?.sha256, bytes: bundle?.bytes });
      expect(Buffer.from(chunk.data, 'base64url').subarray(0, 20).toString()).toContain('# v2 git bundle');
      expect(await stopProcess(second, 'SIGTERM')).toBe(0);
    } finally {
      await model.close();
      await schema.drop();
      dir.remove();
    }
  }, 90_000);

  it('PostgreSQL away: requests answer 503 ORCHESTRATOR_UNAVAILABLE with Retry-After, nothing half-written, and service resumes when it is back', async () => {
    const dir = createTempDir();
    const schema = await createPostgresSchema();
    const proxy = await startTcpProxy(new URL(schema.url));
    try {
      const secret = { MOSAIC_FED_SECRET: 'a-shared-secret-of-the-replicas-0123456789' };
      // Straight to the database (runCli holds this process, and so the relay, until it ends).
      const created = runCli(['token', 'create', '--data-dir', join(dir.path, 'data'), '--label', 'ops'], dir.path, { ...secret, MOSAIC_FED_DATABASE_URL: schema.url });
      expect(created.status, created.stderr).toBe(0);
      const served = await startCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'data')], dir.path, { ...secret, MOSAIC_FED_DATABASE_URL: proxy.url(schema.url) }, 'listening');
      const rename = (name: string) =>
        fetch(`http://127.0.0.1:${String(served.listening.port)}/api/v1/federation/instance`, {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${created.stdout.trim()}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name }),
        });
      expect((await rename('Before')).status).toBe(200);

      await proxy.cut();
      const refused = await rename('While Away');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      const body = (await refused.json()) as { code: string; error: string };
      expect(body.code).toBe('ORCHESTRATOR_UNAVAILABLE');
      expect(body.error).not.toMatch(/postgres|ECONN|127\.0\.0\.1/);

      await proxy.restore();
      await eventuallyOk(() => rename('After'));
      const { rows } = await schema.pool.query<{ name: string }>('SELECT name FROM instance');
      expect(rows).toEqual([{ name: 'After' }]);
      const { rows: renames } = await schema.pool.query<{ after: { name?: string } }>("SELECT after FROM audit_log WHERE action = 'instance.update' ORDER BY seq");
      expect(renames.map((row) => row.after.name)).toEqual(['Before', 'After']);
      expect(await stopProcess(served, 'SIGTERM')).toBe(0);
    } finally {
      await proxy.close();
      await schema.drop();
      dir.remove();
    }
  }, 60_000);

  it("refuses to start a worker that would look for the servers' agents elsewhere than they keep them", async () => {
    const dir = createTempDir();
    const schema = await createPostgresSchema();
    const shared = { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', MOSAIC_FED_REDIS_PREFIX: `pg-test-${randomUUID()}:` };
    try {
      const served = await startCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'server')], dir.path, { ...shared, MOSAIC_FED_DATABASE_URL: schema.url }, 'listening');
      const worker = { ...shared, MOSAIC_FED_SANDBOX: 'unsafe-process', ANTHROPIC_API_KEY: 'test-key' };
      const refused = runCli(['worker', '--data-dir', join(dir.path, 'worker')], dir.path, worker);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("the servers on this Valkey keep their agents' state in PostgreSQL: give this worker their MOSAIC_FED_DATABASE_URL");
      // Given it, the worker starts and takes jobs.
      const taking = await startCli(['worker', '--data-dir', join(dir.path, 'worker')], dir.path, { ...worker, MOSAIC_FED_DATABASE_URL: schema.url }, 'worker started');
      expect(await stopProcess(taking, 'SIGTERM')).toBe(0);
      expect(await stopProcess(served, 'SIGTERM')).toBe(0);
    } finally {
      const redis = await connectTestRedis();
      if (redis !== undefined) {
        await deleteKeys(redis, shared.MOSAIC_FED_REDIS_PREFIX);
        redis.disconnect();
      }
      await schema.drop();
      dir.remove();
    }
  }, 60_000);

  it('names the database that does not answer at start, without its password (exit 1)', () => {
    const dir = createTempDir();
    try {
      const refused = runCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'data')], dir.path, { MOSAIC_FED_DATABASE_URL: 'postgres://mosaic:hunter2@127.0.0.1:59995/fed' });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('the database at postgres://127.0.0.1:59995/fed (MOSAIC_FED_DATABASE_URL) cannot be opened');
      expect(refused.stderr).toContain('ECONNREFUSED');
      expect(refused.stderr).not.toContain('hunter2');
      expect(refused.stderr).not.toMatch(/\n\s+at /);
    } finally {
      dir.remove();
    }
  });
});

/** Retries `request` until it answers 200, for up to 10 s. */
async function eventuallyOk(request: () => Promise<Response>): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    const response = await request();
    if (response.status === 200) return;
    if (Date.now() > until) throw new Error(`still ${response.status}: ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A TCP relay to the database that the test can cut (every connection dropped, new ones
 * refused) and restore on the same port: PostgreSQL going away and coming back, without
 * stopping the server other tests use.
 */
async function startTcpProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });
  const cut = async () => {
    const closed = new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();
  return {
    url: (url: string) => {
      const through = new URL(url);
      through.port = String(port);
      return through.toString();
    },
    cut,
    restore: listen,
    close: cut,
  };
}

if (!postgres) {
  describe.skip('mosaic-fed on PostgreSQL (no PostgreSQL: set MOSAIC_FED_TEST_POSTGRES_URL or start one)', () => {
    it('needs PostgreSQL', () => undefined);
  });
}
