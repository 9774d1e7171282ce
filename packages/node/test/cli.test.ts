import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AgentSpawnPayloadSchema, InstanceDocumentSchema, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { HttpOrchestrator } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempDir } from '../../server/test/helpers.js';
import { coverageEnv } from '../../../test/coverage-provider/children.js';
import { fetchOnce, killStarted, runCli, startCli, stopProcess, type Served } from './processes.js';

// The real `mosaic-fed` executable, as a self-hoster runs it: separate processes, a real
// port, a real SQLite file, real signals.
afterEach(killStarted);

/** Starts `mosaic-fed serve`; resolves at its "listening" line. */
function serve(args: string[], cwd: string): Promise<Served> {
  return startCli(['serve', ...args], cwd, {}, 'listening');
}

async function wellKnown(url: string) {
  const response = await fetch(`${url}/.well-known/mosaic-federation`);
  expect(response.status).toBe(200);
  return InstanceDocumentSchema.parse(await response.json());
}

// Tests that start the CLI a dozen times or more: each start is a Node process of its own
// (about a second and a half here, more while other suites share the machine).
const PROCESSES_TIMEOUT_MS = 90_000;

describe('mosaic-fed serve', () => {
  it('starts with no configuration on an embedded SQLite file and keeps its identity across a restart', async () => {
    const dir = createTempDir();
    try {
      const first = await serve([], dir.path);
      expect(first.listening.url).toBe('http://127.0.0.1:4747');
      const document = await wellKnown(first.listening.url);
      expect(document.instanceId).toBe(first.listening.instanceId);

      const dataDir = join(dir.path, 'mosaic-fed-data');
      expect(existsSync(join(dataDir, 'mosaic-fed.db'))).toBe(true);
      expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);

      expect(await stopProcess(first, 'SIGTERM')).toBe(0);
      expect(first.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));

      const second = await serve([], dir.path);
      const again = await wellKnown(second.listening.url);
      expect(again.instanceId).toBe(document.instanceId);
      expect(again.keys[0]?.kid).toBe(document.keys[0]?.kid);
      expect(await stopProcess(second, 'SIGINT')).toBe(0);

      // Structured logs only, and nothing secret in them.
      const secret = readFileSync(join(dataDir, 'secret.key'), 'utf8').trim();
      const logs = JSON.stringify([...first.lines, ...second.lines]);
      expect(logs).not.toContain(secret);
      expect(logs).not.toMatch(/"d"\s*:/);
      for (const line of [...first.lines, ...second.lines]) {
        expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
      }
    } finally {
      dir.remove();
    }
  });

  it('init, token create, then an admin call with that token', async () => {
    const dir = createTempDir();
    try {
      const dataDir = join(dir.path, 'data');
      const init = runCli(['init', '--data-dir', dataDir, '--name', 'CLI Spoke'], dir.path);
      expect(init.status, init.stderr).toBe(0);
      const instanceId = /instance ([0-9a-f-]{36})/.exec(init.stdout)?.[1];
      expect(instanceId).toBeDefined();

      const created = runCli(['token', 'create', '--data-dir', dataDir, '--label', 'ci'], dir.path);
      // On a fresh data directory too, stdout holds the token alone (logs go to stderr).
      const fresh = runCli(['token', 'create', '--data-dir', join(dir.path, 'fresh')], dir.path);
      expect(fresh.status, fresh.stderr).toBe(0);
      expect(fresh.stdout).toMatch(/^mfa_[A-Za-z0-9_-]{43}\n$/);
      // A token is not an instance: the instance is made by init or serve, with their --name.
      expect(fresh.stderr).not.toContain('instance initialised');
      expect(created.status, created.stderr).toBe(0);
      const token = created.stdout.trim();
      expect(token).toMatch(/^mfa_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).toContain('shown only this once');

      const served = await serve(['--data-dir', dataDir, '--port', '0'], dir.path);
      expect(served.listening.instanceId).toBe(instanceId);
      const response = await fetchOnce(`${served.listening.url}/api/v1/federation/instance`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ success: true, data: { instanceId, name: 'CLI Spoke' } });
      const refused = await fetchOnce(`${served.listening.url}/api/v1/federation/instance`, {
        headers: { Authorization: `Bearer ${token.slice(0, -1)}x` },
      });
      expect(refused.status).toBe(401);

      // token list shows it, with its last use; token revoke ends it at once, while serving.
      const listed = runCli(['token', 'list', '--data-dir', dataDir], dir.path);
      expect(listed.status, listed.stderr).toBe(0);
      const id = /\(([0-9a-f-]{36})\) created/.exec(created.stderr)?.[1];
      expect(id).toBeDefined();
      const row = listed.stdout.split('\n').find((line) => line.startsWith(id ?? '-'));
      expect(row).toMatch(/ ci +\(admin\) +\S+Z +never +\S+Z +-$/);
      expect(listed.stdout).not.toContain(token);
      const revoked = runCli(['token', 'revoke', id ?? '', '--data-dir', dataDir], dir.path);
      expect(revoked.status, revoked.stderr).toBe(0);
      expect(revoked.stderr).toContain('is revoked since');
      const after = await fetchOnce(`${served.listening.url}/api/v1/federation/instance`, { headers: { Authorization: `Bearer ${token}` } });
      expect(after.status).toBe(401);
      // A user's token, for a user the admin added: it signs that user in, not an admin.
      expect(runCli(['token', 'create', '--data-dir', dataDir, '--user', 'alice'], dir.path).status).toBe(2);
      const adminToken = runCli(['token', 'create', '--data-dir', dataDir, '--label', 'people'], dir.path).stdout.trim();
      const added = await fetchOnce(`${served.listening.url}/api/v1/federation/users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 'alice', name: 'Alice' }),
      });
      expect(added.status).toBe(201);
      const forAlice = runCli(['token', 'create', '--data-dir', dataDir, '--user', 'alice'], dir.path);
      expect(forAlice.status, forAlice.stderr).toBe(0);
      expect(forAlice.stderr).toContain('token of user alice');
      const me = await fetchOnce(`${served.listening.url}/api/v1/federation/me`, { headers: { Authorization: `Bearer ${forAlice.stdout.trim()}` } });
      expect(await me.json()).toMatchObject({ success: true, data: { kind: 'user', user: { id: 'alice' }, memberships: [] } });
      expect(runCli(['token', 'list', '--data-dir', dataDir], dir.path).stdout).toMatch(/ alice +alice +\S+Z +never +\S+Z +-/);
      expect(runCli(['token', 'revoke', crypto.randomUUID(), '--data-dir', dataDir], dir.path).status).toBe(2);
      const expiring = runCli(['token', 'create', '--data-dir', dataDir, '--expires-in', '12h'], dir.path);
      expect(expiring.status, expiring.stderr).toBe(0);
      expect(runCli(['token', 'list', '--data-dir', dataDir], dir.path).stdout).toMatch(/ admin +\(admin\) +\S+Z +\S+Z +never +-/);
      expect(runCli(['token', 'create', '--data-dir', dataDir, '--expires-in', 'soon'], dir.path).status).toBe(2);

      expect(JSON.stringify(served.lines)).not.toContain(token);
      expect(await stopProcess(served, 'SIGTERM')).toBe(0);
    } finally {
      dir.remove();
    }
  }, PROCESSES_TIMEOUT_MS);

  it('changes the instance record from serve only: a token made while it runs leaves its URL and name', async () => {
    const dir = createTempDir();
    try {
      const dataDir = join(dir.path, 'data');
      // The tour's order: serve in the background on a fresh directory, then a token at once.
      const starting = serve(['--data-dir', dataDir, '--port', '0', '--name', 'Tour Hub', '--url', 'http://hub.example.test:4747'], dir.path);
      const created = runCli(['token', 'create', '--data-dir', dataDir], dir.path);
      const served = await starting;
      expect(created.status, created.stderr).toBe(0);
      const token = created.stdout.trim();
      const again = runCli(['token', 'create', '--data-dir', dataDir, '--label', 'second'], dir.path);
      expect(again.status, again.stderr).toBe(0);
      const headers = { Authorization: `Bearer ${token}` };
      const local = `http://127.0.0.1:${String(served.listening.port)}`;
      const instance = await (await fetchOnce(`${local}/api/v1/federation/instance`, { headers })).json();
      expect(instance).toMatchObject({ data: { name: 'Tour Hub', url: 'http://hub.example.test:4747' } });
      const audit = (await (await fetchOnce(`${local}/api/v1/federation/audit?limit=100`, { headers })).json()) as {
        data: { items: { action: string }[] };
      };
      expect(audit.data.items.map((entry) => entry.action)).not.toContain('instance.url.update');
      expect(await stopProcess(served, 'SIGTERM')).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it('names the setting that does not work at start, and what was wrong with it (exit 1, or 2 when malformed)', () => {
    const dir = createTempDir();
    try {
      writeFileSync(join(dir.path, 'a-file'), '');
      const malformed = runCli(['serve', '--port', '0'], dir.path, { REDIS_URL: 'localhost:6379' });
      expect(malformed.status).toBe(2);
      expect(malformed.stderr).toContain('REDIS_URL must be a redis:// or rediss:// URL');
      const refused = runCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'a')], dir.path, { REDIS_URL: 'redis://127.0.0.1:59998' });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('REDIS_URL: Valkey at redis://127.0.0.1:59998 cannot be reached');
      expect(refused.stderr).toContain('ECONNREFUSED');
      const database = runCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'b')], dir.path, { MOSAIC_FED_DATABASE_URL: 'http://127.0.0.1:59997' });
      expect(database.status).toBe(1);
      expect(database.stderr).toContain('the database at http://127.0.0.1:59997/ (MOSAIC_FED_DATABASE_URL) cannot be opened: fetch failed (ECONNREFUSED)');
      const unusable = runCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'a-file', 'data')], dir.path);
      expect(unusable.status).toBe(1);
      expect(unusable.stderr).toContain(`the data directory ${join(dir.path, 'a-file', 'data')} (--data-dir, MOSAIC_FED_DATA_DIR) cannot be used: ENOTDIR`);
      for (const run of [refused, database, unusable]) expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      dir.remove();
    }
  });

  it('starts with a warning naming MOSAIC_FED_ORCHESTRATOR_URL when that service does not answer', async () => {
    const dir = createTempDir();
    try {
      const served = await startCli(['serve', '--port', '0', '--data-dir', join(dir.path, 'data')], dir.path, {
        MOSAIC_FED_ORCHESTRATOR_URL: 'http://127.0.0.1:59996',
        MOSAIC_FED_ORCHESTRATOR_TOKEN: 'cli-test-orchestrator-token-0123456789',
      }, 'listening');
      expect(served.lines.some((line) => line.level === 'warn' && String(line.msg).startsWith('MOSAIC_FED_ORCHESTRATOR_URL: the orchestrator service at http://127.0.0.1:59996/ does not answer'))).toBe(true);
      // It serves all the same (spawns fail with ORCHESTRATOR_UNAVAILABLE until the service answers).
      const answer = await fetchOnce(`http://127.0.0.1:${served.listening.port}/.well-known/mosaic-federation`);
      expect(answer.status).toBe(200);
      await stopProcess(served, 'SIGTERM');
    } finally {
      dir.remove();
    }
  });

  it('explains a wrong command or flag and exits 2', () => {
    const dir = createTempDir();
    try {
      const unknown = runCli(['launch'], dir.path);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('unknown command "launch"');
      const badPort = runCli(['serve', '--port', 'eighty'], dir.path);
      expect(badPort.status).toBe(2);
      expect(badPort.stderr).toContain('--port');
      const badPattern = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_REPOSITORIES: 'https://github.com/acme/*,https://x/***' });
      expect(badPattern.status).toBe(2);
      expect(badPattern.stderr).toContain('MOSAIC_FED_REPOSITORIES: "https://x/***" is not a repository pattern');
      const badEgress = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_EGRESS: 'registry.npmjs.org,https://pypi.org' });
      expect(badEgress.status).toBe(2);
      expect(badEgress.stderr).toContain('MOSAIC_FED_EGRESS: "https://pypi.org" is not an egress rule');
      const badForge = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_FORGES: 'git.example.com=https://git.example.com/api/v1,gitea.internal' });
      expect(badForge.status).toBe(2);
      expect(badForge.stderr).toContain('MOSAIC_FED_FORGES: "gitea.internal" is not host=API URL');
      // Values the server itself would refuse are the caller's mistake too, named as set.
      const badUrl = runCli(['serve', '--port', '0', '--url', 'ftp://hub.example.com'], dir.path);
      expect(badUrl.status).toBe(2);
      expect(badUrl.stderr).toContain('--url (MOSAIC_FED_URL) must be an absolute http(s) URL');
      const shortSecret = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_SECRET: 'too-short' });
      expect(shortSecret.status).toBe(2);
      expect(shortSecret.stderr).toContain('MOSAIC_FED_SECRET must be at least 32 characters');
      const noToken = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_ORCHESTRATOR_URL: 'http://127.0.0.1:59998' });
      expect(noToken.status).toBe(2);
      expect(noToken.stderr).toContain('MOSAIC_FED_ORCHESTRATOR_URL needs MOSAIC_FED_ORCHESTRATOR_TOKEN');
      const badNetwork = runCli(['serve', '--port', '0'], dir.path, { MOSAIC_FED_ALLOW_NETWORKS: '10.0.0.0/33' });
      expect(badNetwork.status).toBe(2);
      expect(badNetwork.stderr).toContain('MOSAIC_FED_ALLOW_NETWORKS: "10.0.0.0/33" is not a network');
      const help = runCli(['--help'], dir.path);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('MOSAIC_FED_DATA_DIR');
    } finally {
      dir.remove();
    }
  }, PROCESSES_TIMEOUT_MS);
});

describe('mosaic-fed orchestrator', () => {
  it('runs agents for servers over HTTP behind its token, and stops on SIGTERM', async () => {
    const dir = createTempDir();
    const model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
    try {
      const repository = createDemoRepository(join(dir.path, 'repo'));
      const token = 'cli-test-orchestrator-token-0123456789';
      const env = {
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: model.url,
        MOSAIC_FED_SANDBOX: 'unsafe-process',
        MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
      };
      const refused = runCli(['orchestrator', '--port', '0'], dir.path, env);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('MOSAIC_FED_ORCHESTRATOR_TOKEN');
      const badRetry = runCli(['orchestrator', '--port', '0'], dir.path, { ...env, MOSAIC_FED_ORCHESTRATOR_TOKEN: token, MOSAIC_FED_MODEL_RETRY_SECONDS: 'soon' });
      expect(badRetry.status).toBe(2);
      expect(badRetry.stderr).toContain('MOSAIC_FED_MODEL_RETRY_SECONDS must be a whole number of at least 1, not "soon"');

      const served = await startCli(
        ['orchestrator', '--port', '0', '--data-dir', join(dir.path, 'data')],
        dir.path,
        { ...env, MOSAIC_FED_ORCHESTRATOR_TOKEN: token, MOSAIC_FED_MAX_TOKENS: '12345', MOSAIC_FED_SETUP_WORKER: 'echo prepared by setup' },
        'orchestrator service listening',
      );
      const ready = served.lines.find((line) => line.msg === 'orchestrator service listening') as { port: number; sandbox: string };
      expect(ready.sandbox).toBe('unsafe-process sandbox (no isolation: for your own experiments only)');
      const orchestrator = new HttpOrchestrator({ url: `http://127.0.0.1:${ready.port}`, token });
      const agentId = randomUUID();
      await orchestrator.spawn({
        agentId,
        ownerInstanceId: randomUUID(),
        spec: AgentSpawnPayloadSchema.parse({ taskId: 'cli', agentType: 'worker', context: { repository, branch: 'main' } }),
      });
      let last: AgentStatusChangedPayload | undefined;
      for await (const event of orchestrator.watch(agentId)) last = event;
      expect(last?.status).toBe('completed');
      expect(last?.result?.patch).toContain('+  echo $(($1 + $2))');
      expect(model.requests.map((request) => request.maxTokens)).toEqual([12345, 12345, 12345, 12345]);
      // The admin's setup ran first, and is the transcript's first entry.
      expect((await orchestrator.transcript(agentId, { after: 0, limit: 1 }))[0]).toMatchObject({ kind: 'setup', input: 'echo prepared by setup', output: 'prepared by setup' });
      expect(existsSync(join(dir.path, 'data', 'orchestrator.db'))).toBe(true);
      expect(JSON.stringify(served.lines)).not.toContain(token);
      expect(await stopProcess(served, 'SIGTERM')).toBe(0);
    } finally {
      await model.close();
      dir.remove();
    }
  });
});

describe("the README's 60-second tour", () => {
  it('runs as printed, offline: the agent fixes the local repository, and the last line stops everything', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## A 60-second tour'));
    // The second shell block; the first, the build, is what the suite itself runs on.
    const tour = section.split('```sh\n')[2]?.split('```')[0] ?? '';
    expect(tour).toContain('mosaic-fed stand-in');
    const run = spawnSync('bash', ['-c', tour], {
      cwd: join(import.meta.dirname, '..', '..', '..'),
      encoding: 'utf8',
      timeout: 120_000,
      // Nothing from the suite's own environment: the tour sets what it needs (and, while
      // coverage is measured, its processes write theirs).
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...coverageEnv() },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('"status":"completed"');
    expect(run.stdout).toContain('+  echo $(($1 + $2))');
    // The last line stopped the three processes and removed what they made.
    expect(spawnSync('sh', ['-c', 'pgrep -f "dist/bin.js (serve|stand-in) .*tour"'], { encoding: 'utf8' }).stdout.trim()).toBe('');
    for (const dir of ['/tmp/tour-hub', '/tmp/tour-spoke', '/tmp/tour-repo']) expect(existsSync(dir)).toBe(false);
  }, 150_000);
});
