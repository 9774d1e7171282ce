import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxProvider } from '../src/index.js';
import { DockerSandboxProvider, SANDBOX_LABEL } from '../src/docker.js';
import { BubblewrapSandboxProvider, ProcessSandboxProvider } from '../src/node.js';
import { dockerEngine, inCI, SANDBOX_IMAGE } from './helpers.js';

// The sandbox contract, and the isolation each kind promises.
const source = mkdtempSync(join(tmpdir(), 'mosaic-sandbox-source-'));
writeFileSync(join(source, 'README'), 'hello\n');
let docker: Docker | undefined;
let bubblewrap: BubblewrapSandboxProvider | undefined;

beforeAll(async () => {
  docker = await dockerEngine();
  const candidate = new BubblewrapSandboxProvider({ orchestratorId: 'sandbox-tests', outputLimit: 1_000 });
  if (await candidate.available()) bubblewrap = candidate;
  else if (inCI) throw new Error('CI needs bubblewrap: apt-get install bubblewrap');
  else console.warn('skipping the bubblewrap sandbox tests: bwrap does not run here');
});

afterAll(() => rmSync(source, { recursive: true, force: true }));

const kinds: { name: string; provider: () => SandboxProvider | undefined }[] = [
  { name: 'process', provider: () => new ProcessSandboxProvider({ outputLimit: 1_000 }) },
  { name: 'bubblewrap', provider: () => bubblewrap },
  {
    name: 'docker',
    provider: () => (docker === undefined ? undefined : new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'sandbox-tests', outputLimit: 1_000 })),
  },
];

describe.each(kinds)('$name sandbox', ({ provider }) => {
  it('runs commands in a copy of the source, reads and writes files, exports the tree, and refuses paths outside it', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const sandbox = await sandboxes.create({ agentId: 'a1b2c3d4-0000-4000-8000-000000000000', source });
    try {
      const listed = await sandbox.exec('cat README && echo changed > README && echo oops >&2 && exit 3', { timeoutMs: 10_000 });
      expect(listed).toEqual({ exitCode: 3, stdout: 'hello\n', stderr: 'oops\n', timedOut: false });
      expect(readFileSync(join(source, 'README'), 'utf8')).toBe('hello\n');
      await sandbox.writeFile('src/new.txt', 'new file\n');
      expect(await sandbox.readFile('src/new.txt')).toBe('new file\n');
      await expect(sandbox.readFile('../../etc/passwd')).rejects.toThrow(/outside the repository/);
      await expect(sandbox.writeFile('/etc/evil', 'x')).rejects.toThrow(/outside the repository/);

      const long = await sandbox.exec('i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done', { timeoutMs: 10_000 });
      expect(long.stdout).toContain('line-0\n');
      expect(long.stdout).toContain('line-499\n');
      expect(long.stdout).toMatch(/\[output clipped: \d+ characters left out\]/);

      const slow = await sandbox.exec('sleep 20', { timeoutMs: 1_000 });
      expect(slow.timedOut).toBe(true);

      const out = mkdtempSync(join(tmpdir(), 'mosaic-sandbox-export-'));
      await sandbox.exportTo(out);
      expect(readdirSync(out).sort()).toEqual(['README', 'src']);
      expect(readFileSync(join(out, 'README'), 'utf8')).toBe('changed\n');
      rmSync(out, { recursive: true, force: true });
    } finally {
      await sandbox.destroy();
      await sandbox.destroy();
    }
    await expect(sandbox.exec('true', { timeoutMs: 1_000 })).rejects.toThrow(/gone/);
  });
});

describe('process sandbox isolation', () => {
  it('gives commands a scrubbed environment: nothing of this process leaks in', async () => {
    process.env.MOSAIC_TEST_SECRET = 'sk-ant-do-not-leak';
    try {
      const sandbox = await new ProcessSandboxProvider().create({ agentId: 'e1b2c3d4-0000-4000-8000-000000000000', source });
      const env = await sandbox.exec('env', { timeoutMs: 5_000 });
      await sandbox.destroy();
      expect(env.stdout).not.toContain('sk-ant-do-not-leak');
      // Only what the sandbox sets, and what sh sets itself.
      const names = env.stdout.split('\n').filter(Boolean).map((line) => line.split('=')[0]);
      expect(names.filter((name) => !['HOME', 'LANG', 'PATH', 'TMPDIR', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(name ?? ''))).toEqual([]);
      expect(env.stdout).not.toContain('ANTHROPIC');
    } finally {
      delete process.env.MOSAIC_TEST_SECRET;
    }
  });
});

describe('docker sandbox isolation', () => {
  it('takes the user as numeric ids only, which the files it copies in are owned by', () => {
    for (const user of ['node', '1000:staff', '0:0:0', '']) {
      expect(() => new DockerSandboxProvider({ image: 'any', user }), user).toThrow(/uid:gid/);
    }
    expect(() => new DockerSandboxProvider({ image: 'any', user: '1001' })).not.toThrow();
  });

  it('runs as a non-root user with no network, no capabilities, a read-only root and limits', async (context) => {
    if (docker === undefined) return context.skip();
    const sandboxes = new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'isolation-tests', memoryBytes: 256 * 1024 ** 2, pidsLimit: 64 });
    const sandbox = await sandboxes.create({ agentId: 'f1b2c3d4-0000-4000-8000-000000000000', source });
    try {
      expect((await sandbox.exec('id -u', { timeoutMs: 5_000 })).stdout.trim()).toBe('1000');
      expect((await sandbox.exec('ls /sys/class/net', { timeoutMs: 5_000 })).stdout.trim()).toBe('lo');
      expect((await sandbox.exec('grep CapEff /proc/self/status', { timeoutMs: 5_000 })).stdout).toMatch(/CapEff:\s+0+\s*$/);
      expect((await sandbox.exec('touch /bin/x', { timeoutMs: 5_000 })).exitCode).not.toBe(0);
      const [container] = await docker.listContainers({ filters: { label: [`${SANDBOX_LABEL}=isolation-tests`] } });
      const info = await docker.getContainer(container?.Id ?? '').inspect();
      expect(info.HostConfig).toMatchObject({ NetworkMode: 'none', ReadonlyRootfs: true, Memory: 256 * 1024 ** 2, PidsLimit: 64 });
      // Docker reports `ALL`; Podman reports the capabilities it expanded `ALL` into. The
      // effective set read inside the container (above) is the proof either way.
      const dropped: string[] = (info.HostConfig.CapDrop ?? []).map((cap: string) => cap.replace(/^CAP_/, ''));
      expect(dropped.includes('ALL') || ['CHOWN', 'NET_RAW', 'SETUID', 'SETGID', 'SYS_CHROOT'].every((cap: string) => dropped.includes(cap))).toBe(true);
      expect(info.HostConfig.SecurityOpt?.join(' ')).toContain('no-new-privileges');
    } finally {
      await sandbox.destroy();
    }
  });

  it('runs each agent type in its own image where one is set, else in the default one', async (context) => {
    const engine = docker;
    if (engine === undefined) return context.skip();
    // A second name for the test image stands for a tester's image with its toolchain.
    const [repo = ''] = SANDBOX_IMAGE.split(/:(?=[^:/]+$)/);
    await engine.getImage(SANDBOX_IMAGE).tag({ repo, tag: 'tester-tools' });
    const testerImage = `${repo}:tester-tools`;
    const sandboxes = new DockerSandboxProvider({ image: SANDBOX_IMAGE, images: { tester: testerImage }, docker: engine, orchestratorId: 'image-tests' });
    expect(await sandboxes.available()).toBe(true);
    expect(await new DockerSandboxProvider({ image: SANDBOX_IMAGE, images: { tester: `${repo}:no-such-tag` }, docker: engine }).available()).toBe(false);
    const imageOf = async (agentType: 'worker' | 'tester', agentId: string) => {
      const sandbox = await sandboxes.create({ agentId, agentType, source });
      try {
        const [container] = await engine.listContainers({ filters: { label: [`dev.mosaic-fed.agent-id=${agentId}`] } });
        return (await engine.getContainer(container?.Id ?? '').inspect()).Config.Image;
      } finally {
        await sandbox.destroy();
      }
    };
    try {
      expect(await imageOf('tester', 'f1b2c3d4-0000-4000-8000-0000000000a1')).toBe(testerImage);
      expect(await imageOf('worker', 'f1b2c3d4-0000-4000-8000-0000000000a2')).toBe(SANDBOX_IMAGE);
    } finally {
      await engine.getImage(testerImage).remove().catch(() => undefined);
    }
  });

  it('finds and removes containers an earlier process left behind, by its own label only', async (context) => {
    if (docker === undefined) return context.skip();
    const mine = new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'leftover-tests' });
    const theirs = new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'other-orchestrator' });
    await mine.create({ agentId: '01b2c3d4-0000-4000-8000-000000000000', source });
    await mine.create({ agentId: '02b2c3d4-0000-4000-8000-000000000000', source });
    const other = await theirs.create({ agentId: '03b2c3d4-0000-4000-8000-000000000000', source });
    try {
      expect(await new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'leftover-tests' }).removeLeftovers()).toBe(2);
      expect(await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=leftover-tests`] } })).toEqual([]);
      expect(await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=other-orchestrator`] } })).toHaveLength(1);
    } finally {
      await other.destroy();
    }
  });
});
