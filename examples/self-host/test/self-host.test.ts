import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentLogger, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { createAdminToken } from '@mosaic-fed/server';
import { connectValkey, startServer } from '@mosaic-fed/node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../../shared/harness.js';
import { startRuntimeServer, type RuntimeServer } from '../../shared/run-runtime.js';
import { createPostgresSchema, testPostgresAnswers } from '../../../test/postgres.js';

// The self-host files, checked and, where this machine allows, run: what compose would
// start (the server and a worker, with the environment the compose file gives them, on a
// real Valkey), and what systemd would start (ExecStart with the unit's environment,
// stopped with its KillSignal). Docker itself does not run here.
const here = join(dirname(new URL(import.meta.url).pathname), '..');
const root = join(here, '..', '..');
const bin = join(root, 'packages/node/dist/bin.js');
const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout;
const work = mkdtempSync(join(tmpdir(), 'mosaic-self-host-'));
const started: RuntimeServer[] = [];
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await Promise.all(started.map((process) => process.stop()));
  for (const close of closers.reverse()) await close().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
}
const compose = parse(readFileSync(join(here, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService> };

/** The value compose would give `${NAME:-default}` with `values` as its .env file. */
function interpolate(value: string, values: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => values[name] ?? fallback ?? '');
}

/** A .env for the test, from env.example with what it leaves blank filled in. */
const dotenv: Record<string, string> = Object.fromEntries(
  readFileSync(join(here, 'env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
dotenv.MOSAIC_FED_SECRET = randomBytes(32).toString('base64url');
dotenv.POSTGRES_PASSWORD = randomBytes(24).toString('hex');
dotenv.ANTHROPIC_API_KEY = 'scripted';

describe('examples/self-host: compose.yaml', () => {
  it('has PostgreSQL, Valkey, a server and workers, each configured only with settings mosaic-fed knows', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'server', 'valkey', 'worker']);
    expect(compose.services.server?.command).toEqual(['serve']);
    expect(compose.services.worker?.command).toEqual(['worker']);
    const database = compose.services.postgres?.environment ?? {};
    for (const name of ['server', 'worker']) {
      const environment = compose.services[name]?.environment ?? {};
      expect(environment.REDIS_URL).toBe('redis://valkey:6379');
      // Servers and workers keep everything in the same database: compose's PostgreSQL.
      expect(environment.MOSAIC_FED_DATABASE_URL).toBe(`postgres://${database.POSTGRES_USER}:${database.POSTGRES_PASSWORD}@postgres:5432/${database.POSTGRES_DB}`);
      for (const variable of Object.keys(environment)) expect(help, `${name}: ${variable}`).toContain(variable);
      expect(compose.services[name]?.depends_on).toEqual(expect.arrayContaining(['postgres', 'valkey']));
    }
    // Every variable the compose file reads from .env is in env.example, or has a default.
    for (const [, name, fallback] of readFileSync(join(here, 'compose.yaml'), 'utf8').matchAll(/\$\{(\w+)(:-[^}]*)?\}/g)) {
      if (fallback === undefined) expect(Object.keys(dotenv), name).toContain(name);
    }
  });

  it('runs here as compose would run it: a worker pool on Valkey and PostgreSQL behind a server, reached by a hub', async (context) => {
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const probe = await connectValkey(redisUrl).catch(() => undefined);
    if (probe === undefined) {
      if (process.env.CI === 'true') throw new Error(`CI needs Redis at ${redisUrl}`);
      console.warn(`skipping the compose run: no Redis at ${redisUrl}`);
      return context.skip();
    }
    probe.disconnect();
    if (!(await testPostgresAnswers())) return context.skip();
    // compose's database, as an empty schema of the test database.
    const database = await createPostgresSchema();
    closers.push(() => database.drop());
    const model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
    closers.push(() => model.close());
    const repository = createDemoRepository(join(work, 'repo'));
    const hub = await startServer({ port: 0, dataDir: join(work, 'hub'), name: 'Hub', logger: silentLogger, allowNetworks: ['127.0.0.0/8'] });
    closers.push(() => hub.close());
    const port = await freePort();

    /** A compose service's environment, pointed at this machine's Valkey and folders. */
    const environmentOf = (service: string): Record<string, string> => {
      const declared = Object.fromEntries(
        Object.entries(compose.services[service]?.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), { ...dotenv, MOSAIC_FED_URL: `http://127.0.0.1:${port}` })]),
      );
      return {
        ...declared,
        REDIS_URL: redisUrl,
        MOSAIC_FED_DATABASE_URL: database.url,
        MOSAIC_FED_REDIS_PREFIX: `self-host-${randomUUID()}:`,
        MOSAIC_FED_DATA_DIR: join(work, service),
        MOSAIC_FED_HOST: '127.0.0.1',
        // Every instance of the test is on loopback, which a server refuses to call unless allowed.
        ...(service === 'server'
          ? {
              MOSAIC_FED_PORT: String(port),
              MOSAIC_FED_AUTO_ACCEPT_URLS: hub.url,
              MOSAIC_FED_ALLOW_NETWORKS: '127.0.0.0/8',
              // The test's repository is a folder on this machine.
              MOSAIC_FED_REPOSITORIES: 'file://**',
            }
          : {}),
        // No Docker engine with the production image here: the process sandbox stands in.
        ...(service === 'worker' ? { MOSAIC_FED_SANDBOX: 'unsafe-process', MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true', ANTHROPIC_BASE_URL: model.url } : {}),
      };
    };
    const serverEnv = environmentOf('server');
    closers.push(async () => {
      const redis = await connectValkey(redisUrl);
      const keys = await redis.keys(`${serverEnv.MOSAIC_FED_REDIS_PREFIX}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    const workerEnv = { ...environmentOf('worker'), MOSAIC_FED_REDIS_PREFIX: serverEnv.MOSAIC_FED_REDIS_PREFIX ?? '' };
    const server = await startRuntimeServer(process.execPath, [bin, ...(compose.services.server?.command ?? [])], work, serverEnv);
    started.push(server);
    const worker = await startRuntimeServer(process.execPath, [bin, ...(compose.services.worker?.command ?? [])], work, workerEnv, 'worker started');
    started.push(worker);

    const { token } = await createAdminToken({ store: hub.federation.stores.adminTokens, label: 'tests', actor: { type: 'cli', id: 'tests' } });
    const admin = new AdminClient({ url: hub.url, token });
    const connection = await admin.connect(server.url);
    expect(connection.status).toBe('ACTIVE');
    const { agentId } = await admin.spawn({
      connectionId: connection.id,
      payload: { taskId: 'self-host', agentType: 'worker', context: { repository, branch: 'main' } },
    });
    const events: AgentStatusChangedPayload[] = [];
    for await (const event of admin.events(agentId)) events.push(event);
    expect(events.at(-1)?.status).toBe('completed');
    expect(worker.lines.some((line) => line.msg === 'running an agent' && line.agentId === agentId)).toBe(true);
    // The server's records and the agent's state are in the database, not in a data directory.
    const { rows } = await database.pool.query<{ agent_id: string; state: string }>('SELECT agent_id, state FROM orchestrator_agents');
    expect(rows).toEqual([{ agent_id: agentId, state: 'completed' }]);
    expect((await database.pool.query('SELECT agent_id FROM hosted_agents')).rows).toEqual([{ agent_id: agentId }]);
  });
});

describe('examples/self-host: mosaic-fed.service', () => {
  const unit = readFileSync(join(here, 'mosaic-fed.service'), 'utf8');
  const entries = unit
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  const value = (key: string) => entries.find(([name]) => name === key)?.[1];

  it('starts the server as ExecStart says, with the unit\'s environment, and stops cleanly on its KillSignal', async () => {
    const execStart = (value('ExecStart') ?? '').split(' ');
    expect(execStart.slice(0, 3)).toEqual(['/usr/bin/node', '/opt/mosaic-fed/packages/node/dist/bin.js', 'serve']);
    const environment = Object.fromEntries(entries.filter(([key]) => key === 'Environment').map(([, pair]) => pair.split('=') as [string, string]));
    for (const variable of Object.keys(environment)) expect(help, variable).toContain(variable);
    expect(value('ReadWritePaths')).toBe(environment.MOSAIC_FED_DATA_DIR);
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim() !== '') {
      const verified = spawnSync('systemd-analyze', ['verify', join(here, 'mosaic-fed.service')], { encoding: 'utf8' });
      expect(verified.stderr).not.toMatch(/Unknown (key|section)/);
    }

    // Here: this checkout instead of /opt/mosaic-fed, a temp folder instead of /var/lib.
    const port = await freePort();
    const server = await startRuntimeServer(
      process.execPath,
      [execStart[1]?.replace('/opt/mosaic-fed', root) ?? '', ...execStart.slice(2)],
      work,
      { ...dotenv, ...environment, MOSAIC_FED_PORT: String(port), MOSAIC_FED_DATA_DIR: join(work, 'systemd'), MOSAIC_FED_URL: `http://127.0.0.1:${port}` },
    );
    const document = (await (await fetch(`${server.url}/.well-known/mosaic-federation`)).json()) as { name: string };
    expect(document.name).toBe(dotenv.MOSAIC_FED_NAME);
    expect(value('KillSignal')).toBe('SIGTERM');
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(server.lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });
});
