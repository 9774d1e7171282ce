import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerSandboxProvider } from '@mosaic-fed/orchestrator/docker';
import { BubblewrapSandboxProvider } from '@mosaic-fed/orchestrator/node';
import { startGitHttpServer, startScriptedMessagesServer, turnByTurn, type ScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { silentLogger } from '@mosaic-fed/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrchestrator, type NodeOrchestrator, type SandboxChoice } from '../src/index.js';
import { connectOverGitServer, eventually, startPeer, type Peer } from './peers.js';

// A real project, end to end, in each sandbox kind: the spoke's setup installs the
// project's dependency from a package registry on loopback, through the egress proxy;
// the agent runs the project's tests, fixes the bug, adds a binary file and commits; the
// hub takes the commits from the bundle and pushes them to a branch of the repository on
// a git server on loopback (git's http-backend). Nothing is stubbed but the model.
//
// The registry listens on 127.0.0.2, an address the sandbox's own loopback does not shadow.
const work = mkdtempSync(join(tmpdir(), 'mosaic-real-project-'));
const inCI = process.env.CI === 'true';
const NODE_IMAGE = process.env.MOSAIC_SANDBOX_NODE_IMAGE ?? 'localhost/mosaic-sandbox-node-test:latest';
const LOGO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
let registry: Server;
let registryHost = '';
const registryRequests: string[] = [];
let git: Awaited<ReturnType<typeof startGitHttpServer>>;
let model: ScriptedMessagesServer;

/** A one-file package, packed by npm, and the registry document that names it. */
function packTinyPad(): { tarball: Buffer; packument: (base: string) => unknown } {
  const dir = join(work, 'tiny-pad');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny-pad', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(dir, 'index.js'), "module.exports = (text, width) => text.padStart(width, '0');\n");
  const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: dir, encoding: 'utf8' }).trim();
  const tarball = readFileSync(join(work, file));
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  return {
    tarball,
    packument: (base) => ({
      name: 'tiny-pad',
      'dist-tags': { latest: '1.0.0' },
      versions: { '1.0.0': { name: 'tiny-pad', version: '1.0.0', main: 'index.js', dist: { tarball: `${base}/tiny-pad/-/tiny-pad-1.0.0.tgz`, integrity, shasum } } },
    }),
  };
}

/** The project: a bug in calc.js, a test that needs tiny-pad, and the registry in .npmrc. */
function createProject(): void {
  const dir = join(work, 'project');
  mkdirSync(dir);
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'project', version: '1.0.0', private: true, dependencies: { 'tiny-pad': '1.0.0' }, scripts: { test: 'node test.js' } }, null, 2),
    '.npmrc': `registry=http://${registryHost}/\n`,
    '.gitignore': 'node_modules/\n',
    'calc.js': 'exports.add = (a, b) => a - b;\n',
    'test.js': "const assert = require('node:assert');\nconst pad = require('tiny-pad');\nconst { add } = require('./calc');\nassert.strictEqual(pad(String(add(2, 3)), 3), '005');\nconsole.log('ok');\n",
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const run = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'ignore' });
  run('init', '--quiet', '--initial-branch', 'main');
  run('add', '-A');
  run('-c', 'user.name=Maintainer', '-c', 'user.email=maintainer@example.com', 'commit', '--quiet', '-m', 'A project with a bug');
}

beforeAll(async () => {
  const pad = packTinyPad();
  registry = createServer((request, response) => {
    registryRequests.push(request.url ?? '');
    if (request.url === '/tiny-pad') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(pad.packument(`http://${registryHost}`)));
    } else if (request.url === '/tiny-pad/-/tiny-pad-1.0.0.tgz') {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(pad.tarball);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => registry.listen(0, '127.0.0.2', done));
  registryHost = `127.0.0.2:${(registry.address() as AddressInfo).port}`;
  createProject();
  git = await startGitHttpServer(work);
  model = await startScriptedMessagesServer(
    turnByTurn([
      [{ type: 'tool_use', name: 'bash', input: { command: 'npm test' } }],
      [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'calc.js', old_str: 'a - b', new_str: 'a + b' } }],
      [{ type: 'tool_use', name: 'bash', input: { command: `printf '${[...LOGO].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('')}' > logo.png && git add -A && git commit --quiet -m 'Add, not subtract; and a logo'` } }],
      [{ type: 'tool_use', name: 'bash', input: { command: 'npm test' } }],
      [{ type: 'text', text: 'Fixed add in calc.js; npm test passes.' }],
    ]),
  );
});

afterAll(async () => {
  await model?.close();
  await git?.close();
  await new Promise((done) => registry?.close(done));
  rmSync(work, { recursive: true, force: true });
});

const kinds: { sandbox: SandboxChoice; available: () => Promise<boolean>; needs: string; extra?: { sandboxImage: string } }[] = [
  { sandbox: 'bubblewrap', available: () => new BubblewrapSandboxProvider().available(), needs: 'apt-get install bubblewrap' },
  { sandbox: 'docker', available: () => new DockerSandboxProvider({ image: NODE_IMAGE }).available(), needs: `a Docker API with the image ${NODE_IMAGE} (scripts/setup-podman.sh)`, extra: { sandboxImage: NODE_IMAGE } },
];

describe.each(kinds)('a real project in the $sandbox sandbox', ({ sandbox, available, needs, extra }) => {
  let agents: NodeOrchestrator | undefined;
  let hub: Peer;
  let spoke: Peer;

  beforeAll(async () => {
    if (!(await available())) {
      if (inCI) throw new Error(`CI needs the ${sandbox} sandbox: ${needs}`);
      console.warn(`skipping the real-project test in the ${sandbox} sandbox: it needs ${needs}`);
      return;
    }
    agents = await createNodeOrchestrator({
      dataDir: join(work, `spoke-${sandbox}`),
      logger: silentLogger,
      sandbox,
      ...extra,
      allowNetworks: ['127.0.0.0/8'],
      setup: { commands: { worker: ['HOME=/tmp npm install --no-audit --no-fund --no-package-lock --loglevel=error'] } },
      anthropic: { apiKey: 'test-key', baseURL: model.url },
    });
    [hub, spoke] = await Promise.all([
      startPeer({ name: 'Hub' }),
      startPeer({ name: 'Spoke', agents: agents.orchestrator, dataDir: join(work, `spoke-${sandbox}`), egress: [registryHost] }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
    await agents?.close();
  });

  it('installs through the proxy, runs the tests, commits the fix with a binary file, and the hub pushes it to a branch', async (context) => {
    if (agents === undefined) return context.skip();
    expect(agents.description.startsWith(`${sandbox} sandbox`)).toBe(true);
    const repository = `http://127.0.0.1:${git.port}/private/project`;
    const { fromConnectionId, admin } = await connectOverGitServer(hub, spoke, git.port);
    registryRequests.length = 0;

    const branch = `agent/fix-add-${sandbox}`;
    const { agentId } = await admin.spawn({
      connectionId: fromConnectionId,
      payload: { taskId: `fix-${sandbox}`, agentType: 'worker', context: { repository, branch: 'main', instructions: 'Make npm test pass.' }, options: { deliver: { branch } } },
    });
    for await (const event of admin.events(agentId)) if (event.status === 'failed') throw new Error(`the agent failed: ${event.error ?? ''}`);
    const { result } = await admin.status(agentId);
    expect(result).toMatchObject({ outcome: 'succeeded', checks: [{ command: 'npm test', exitCode: 0 }] });
    // The dependency came from the registry, through the proxy, during setup.
    expect(registryRequests).toEqual(expect.arrayContaining(['/tiny-pad', '/tiny-pad/-/tiny-pad-1.0.0.tgz']));
    const { entries } = await admin.transcript(agentId);
    expect(entries[0]?.kind).toBe('setup');
    expect(entries[0]?.isError).not.toBe(true);
    const runs = entries.filter((entry) => entry.kind === 'tool' && entry.input === 'npm test').map((entry) => entry.output ?? '');
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/AssertionError/);
    expect(runs[1]).toMatch(/^ok$/m);

    const delivery = await eventually(async () => {
      const current = await admin.delivery(agentId);
      expect(current.state).toBe('delivered');
      return current;
    }, 30_000);
    const inRepo = (...args: string[]) => execFileSync('git', ['-C', join(work, 'project'), ...args]);
    expect(inRepo('rev-parse', `refs/heads/${branch}`).toString().trim()).toBe(delivery.commit);
    expect(inRepo('show', `${branch}:calc.js`).toString()).toBe('exports.add = (a, b) => a + b;\n');
    expect(inRepo('show', `${branch}:logo.png`)).toEqual(LOGO);
    expect(inRepo('ls-tree', '-r', '--name-only', branch).toString().split('\n')).not.toContain('node_modules/tiny-pad/index.js');
  });
});
