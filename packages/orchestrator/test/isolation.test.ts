import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxProvider } from '../src/index.js';
import { DockerSandboxProvider } from '../src/docker.js';
import { BubblewrapSandboxProvider } from '../src/node.js';
import { dockerEngine, inCI, SANDBOX_IMAGE } from './helpers.js';

// One isolation contract, run against every sandbox that may hold a peer's agent
// (ARCHITECTURE: "Every sandbox passes one isolation contract suite"). From inside, an
// agent reaches its workspace and nothing else of the host. Every address tried is on
// this machine: a sandbox's loopback is its own.
const SECRET = 'sk-ant-isolation-secret-do-not-leak';
const work = mkdtempSync(join(tmpdir(), 'mosaic-isolation-'));
const source = join(work, 'source');
const dataDir = join(work, 'data');
let docker: Docker | undefined;
let bubblewrap: BubblewrapSandboxProvider | undefined;
let listener: Server;
let listenerPort = 0;
let connections = 0;

beforeAll(async () => {
  mkdirSync(source);
  writeFileSync(join(source, 'README'), 'the workspace\n');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'secret.key'), `${SECRET}\n`, { mode: 0o600 });
  process.env.MOSAIC_ISOLATION_SECRET = SECRET;
  docker = await dockerEngine();
  const candidate = new BubblewrapSandboxProvider({ orchestratorId: 'isolation-tests', workspaceBytes: 64 * 1024 ** 2, tmpBytes: 16 * 1024 ** 2, maxProcesses: 64 });
  if (await candidate.available()) bubblewrap = candidate;
  else if (inCI) throw new Error('CI needs bubblewrap: apt-get install bubblewrap');
  else console.warn('skipping the bubblewrap isolation tests: bwrap is not installed or namespaces are not allowed here');
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done));
  listenerPort = (listener.address() as { port: number }).port;
});

afterAll(async () => {
  delete process.env.MOSAIC_ISOLATION_SECRET;
  await new Promise((done) => listener.close(done));
  rmSync(work, { recursive: true, force: true });
});

const kinds: { name: string; provider: () => SandboxProvider | undefined; gone: (sandbox: Sandbox, agentId: string) => Promise<boolean> }[] = [
  {
    name: 'docker',
    provider: () =>
      docker === undefined
        ? undefined
        : new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'isolation-tests', workspaceSize: '64m', pidsLimit: 64 }),
    gone: async (_sandbox, agentId) =>
      (await (docker as Docker).listContainers({ all: true, filters: { label: [`dev.mosaic-fed.agent-id=${agentId}`] } })).length === 0,
  },
  {
    name: 'bubblewrap',
    provider: () => bubblewrap,
    gone: async () => {
      const base = join(tmpdir(), 'mosaic-fed-bwrap', 'isolation-tests');
      return !existsSync(base) || readdirSync(base).length === 0;
    },
  },
];

/** `command` in the sandbox, with its output. */
async function inside(sandbox: Sandbox, command: string, timeoutMs = 20_000) {
  const result = await sandbox.exec(command, { timeoutMs });
  return { ...result, all: `${result.stdout}\n${result.stderr}` };
}

describe.each(kinds)('the $name sandbox keeps a peer\'s agent to its workspace', ({ name, provider, gone }) => {
  it('hides the server\'s environment, processes, data directory, host files, sockets and network, and runs as no one', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const agentId = crypto.randomUUID();
    const sandbox = await sandboxes.create({ agentId, source });
    try {
      expect((await inside(sandbox, 'cat README')).stdout).toBe('the workspace\n');
      // The environment of this process, its parent's and every process's it can see.
      const environment = await inside(sandbox, 'env; cat /proc/$PPID/environ /proc/1/environ /proc/*/environ 2>/dev/null; echo');
      expect(environment.all).not.toContain(SECRET);
      expect(environment.all).not.toContain('ANTHROPIC');
      // Only its own processes: none of this test runner's command lines.
      const processes = await inside(sandbox, 'cat /proc/*/cmdline 2>/dev/null | tr "\\0" " "; echo');
      expect(processes.all).not.toContain('vitest');
      expect(processes.all).not.toContain(process.execPath);
      // The data directory, its secret, and host files outside the workspace.
      const files = await inside(sandbox, `cat ${join(dataDir, 'secret.key')} /etc/shadow; echo read`);
      expect(files.all).not.toContain(SECRET);
      expect(files.stdout.trim()).toBe('read');
      expect((await inside(sandbox, `ls ${dataDir} ${work} /root 2>/dev/null; echo listed`)).stdout.trim()).toBe('listed');
      // Container engine sockets.
      const sockets = await inside(sandbox, 'for s in /run/podman/podman.sock /var/run/docker.sock /run/docker.sock; do [ -S $s ] && echo found $s; done; echo checked');
      expect(sockets.stdout.trim()).toBe('checked');
      // The server's loopback ports: the sandbox's loopback is its own.
      await inside(sandbox, `(command -v nc >/dev/null && nc -w 2 127.0.0.1 ${listenerPort} </dev/null) || bash -c 'exec 3<>/dev/tcp/127.0.0.1/${listenerPort}'`);
      expect(connections).toBe(0);
      // No network but a loopback of its own: no route out, so no DNS either.
      const interfaces = (await inside(sandbox, 'cat /proc/net/dev')).stdout
        .split('\n')
        .slice(2)
        .map((line) => line.split(':')[0]?.trim())
        .filter(Boolean);
      expect(interfaces.filter((i) => i !== 'lo')).toEqual([]);
      expect((await inside(sandbox, 'cat /proc/net/route')).stdout.trim().split('\n').slice(1)).toEqual([]);
      // Not root, and no capabilities.
      const status = (await inside(sandbox, 'cat /proc/self/status')).stdout;
      expect(status).toMatch(/^Uid:\s+1000\s/m);
      expect(status).toMatch(/^CapEff:\s+0+$/m);
    } finally {
      await sandbox.destroy();
    }
    expect(await gone(sandbox, agentId)).toBe(true);
  }, 60_000);

  it('contains a fork bomb, and leaves none of its processes behind', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const agentId = crypto.randomUUID();
    const marker = `mosaic-isolation-${name}-${agentId.slice(0, 8)}`;
    const sandbox = await sandboxes.create({ agentId, source });
    try {
      // Each process of the bomb runs a script whose name marks it, to look for on the host.
      await sandbox.writeFile(`${marker}.sh`, 'while :; do sleep 1; done\n');
      const bomb = await inside(sandbox, `i=0; while [ $i -lt 1000 ]; do sh ./${marker}.sh & i=$((i+1)); done; echo spawned`, 30_000);
      expect(bomb.all).toMatch(/fork|resource temporarily unavailable/i);
      // The host still forks.
      expect(execFileSync('true').toString()).toBe('');
    } finally {
      await sandbox.destroy();
    }
    expect(await gone(sandbox, agentId)).toBe(true);
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((line) => line.includes(marker));
    expect(left).toEqual([]);
  }, 120_000);

  it('contains a disk fill in the workspace and in /tmp', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const agentId = crypto.randomUUID();
    const sandbox = await sandboxes.create({ agentId, source });
    try {
      const fill = await inside(sandbox, 'cat /dev/zero > filler; echo "exit $?"', 60_000);
      expect(fill.all).toMatch(/No space left on device|File too large/i);
      const tmpFill = await inside(sandbox, 'cat /dev/zero > /tmp/filler; echo "exit $?"', 60_000);
      expect(tmpFill.all).toMatch(/No space left on device|File too large/i);
      expect((await inside(sandbox, 'echo still here')).stdout).toBe('still here\n');
    } finally {
      await sandbox.destroy();
    }
    expect(await gone(sandbox, agentId)).toBe(true);
  }, 120_000);

  it('reaps orphaned processes: 200 orphans leave no zombies, and commands still start', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const sandbox = await sandboxes.create({ agentId: crypto.randomUUID(), source });
    try {
      // Each child exits at once, its parent (the subshell) having exited first: an orphan
      // that only an init process reaps.
      const made = await inside(sandbox, 'i=0; while [ $i -lt 200 ]; do (sh -c "exit 0" &); i=$((i+1)); done; echo made', 60_000);
      expect(made.stdout).toBe('made\n');
      const zombies = await inside(sandbox, 'sleep 1; grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l');
      expect(Number(zombies.stdout.trim())).toBeLessThan(5);
      expect((await inside(sandbox, 'echo alive')).stdout).toBe('alive\n');
    } finally {
      await sandbox.destroy();
    }
  }, 90_000);

  it('gives a read-only workspace to an agent that must not change files', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const sandbox = await sandboxes.create({ agentId: crypto.randomUUID(), source, readOnly: true });
    try {
      expect((await inside(sandbox, 'cat README')).stdout).toBe('the workspace\n');
      const write = await inside(sandbox, 'echo changed > README; echo new > other; rm -f README; cat README');
      expect(write.stdout).toContain('the workspace\n');
      await expect(sandbox.writeFile('README', 'changed\n')).rejects.toThrow(/read-only/);
      expect(await sandbox.readFile('README')).toBe('the workspace\n');
      const out = mkdtempSync(join(work, 'export-'));
      await sandbox.exportTo(out);
      expect(readdirSync(out)).toEqual(['README']);
    } finally {
      await sandbox.destroy();
    }
  }, 60_000);
});
