import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { AgentSpawnPayloadSchema, InstanceDocumentSchema, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { HttpOrchestrator } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempDir } from './helpers.js';

// The real `mosaic-fed` executable, as a self-hoster runs it: separate processes, a real
// port, a real SQLite file, real signals.
const BIN = new URL('../dist/bin.js', import.meta.url).pathname;

function requireBuild() {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` before these tests`);
}

/** A clean environment: nothing configures the server but what a test passes. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

interface Served {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  listening: { url: string; port: number; instanceId: string };
  exited: Promise<number | null>;
}

/** Starts `mosaic-fed serve`; resolves at its "listening" line. */
function serve(args: string[], cwd: string): Promise<Served> {
  return start(['serve', ...args], cwd, {}, 'listening');
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts a long-running command; resolves at the log line `ready`. */
async function start(args: string[], cwd: string, env: Record<string, string>, ready: string): Promise<Served> {
  requireBuild();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const listening = await new Promise<Served['listening']>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "${ready}" line within 20 s; stderr: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      if (parsed.msg === ready) {
        clearTimeout(timer);
        done(parsed as unknown as Served['listening']);
      }
    });
    void exited.then((code) => fail(new Error(`exited with ${code} before "${ready}"; stderr: ${stderr}`)));
  });
  return { child, lines, listening, exited };
}

async function stop(served: Served, signal: NodeJS.Signals): Promise<number | null> {
  served.child.kill(signal);
  return served.exited;
}

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  requireBuild();
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
}

async function wellKnown(url: string) {
  const response = await fetch(`${url}/.well-known/mosaic-federation`);
  expect(response.status).toBe(200);
  return InstanceDocumentSchema.parse(await response.json());
}

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

      expect(await stop(first, 'SIGTERM')).toBe(0);
      expect(first.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));

      const second = await serve([], dir.path);
      const again = await wellKnown(second.listening.url);
      expect(again.instanceId).toBe(document.instanceId);
      expect(again.keys[0]?.kid).toBe(document.keys[0]?.kid);
      expect(await stop(second, 'SIGINT')).toBe(0);

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
      const init = run(['init', '--data-dir', dataDir, '--name', 'CLI Spoke'], dir.path);
      expect(init.status, init.stderr).toBe(0);
      const instanceId = /instance ([0-9a-f-]{36})/.exec(init.stdout)?.[1];
      expect(instanceId).toBeDefined();

      const created = run(['token', 'create', '--data-dir', dataDir, '--label', 'ci'], dir.path);
      expect(created.status, created.stderr).toBe(0);
      const token = created.stdout.trim();
      expect(token).toMatch(/^mfa_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).toContain('shown only this once');

      const served = await serve(['--data-dir', dataDir, '--port', '0'], dir.path);
      expect(served.listening.instanceId).toBe(instanceId);
      const response = await fetch(`${served.listening.url}/api/v1/federation/instance`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ success: true, data: { instanceId, name: 'CLI Spoke' } });
      const refused = await fetch(`${served.listening.url}/api/v1/federation/instance`, {
        headers: { Authorization: `Bearer ${token.slice(0, -1)}x` },
      });
      expect(refused.status).toBe(401);
      expect(JSON.stringify(served.lines)).not.toContain(token);
      expect(await stop(served, 'SIGTERM')).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it('explains a wrong command or flag and exits 2', () => {
    const dir = createTempDir();
    try {
      const unknown = run(['launch'], dir.path);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('unknown command "launch"');
      const badPort = run(['serve', '--port', 'eighty'], dir.path);
      expect(badPort.status).toBe(2);
      expect(badPort.stderr).toContain('--port');
      const help = run(['--help'], dir.path);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('MOSAIC_FED_DATA_DIR');
    } finally {
      dir.remove();
    }
  });
});

describe('mosaic-fed orchestrator', () => {
  it('runs agents for servers over HTTP behind its token, and stops on SIGTERM', async () => {
    const dir = createTempDir();
    const model = await startScriptedMessagesServer(demoFixScript());
    try {
      const repository = createDemoRepository(join(dir.path, 'repo'));
      const token = 'cli-test-orchestrator-token-0123456789';
      const env = {
        ANTHROPIC_API_KEY: 'test-key',
        ANTHROPIC_BASE_URL: model.url,
        MOSAIC_FED_SANDBOX: 'process',
        MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
      };
      const refused = run(['orchestrator', '--port', '0'], dir.path, env);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('MOSAIC_FED_ORCHESTRATOR_TOKEN');

      const served = await start(
        ['orchestrator', '--port', '0', '--data-dir', join(dir.path, 'data')],
        dir.path,
        { ...env, MOSAIC_FED_ORCHESTRATOR_TOKEN: token },
        'orchestrator service listening',
      );
      const ready = served.lines.find((line) => line.msg === 'orchestrator service listening') as { port: number; sandbox: string };
      expect(ready.sandbox).toBe('process sandbox (weaker isolation)');
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
      expect(existsSync(join(dir.path, 'data', 'orchestrator.db'))).toBe(true);
      expect(JSON.stringify(served.lines)).not.toContain(token);
      expect(await stop(served, 'SIGTERM')).toBe(0);
    } finally {
      await model.close();
      dir.remove();
    }
  });
});
