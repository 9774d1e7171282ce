import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type AddressPolicy, type Logger } from '@mosaic-fed/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIT_CREDENTIALS_FILE, GitCredentialFile, GitWorkspaceProvider, ProcessSandboxProvider, redactCredentials } from '../src/node.js';
import { GIT_SERVER_CREDENTIAL, startGitHttpServer } from '../src/testing.js';
import type { Sandbox, Workspace, WorkspaceChanges } from '../src/index.js';
import { createFixtureRepository } from './helpers.js';

const repository = createFixtureRepository();
const clones: string[] = [];
afterAll(() => {
  repository.remove();
  for (const path of clones) rmSync(path, { recursive: true, force: true });
});

// Stand-ins for the server's OutboundPolicy (tested on its own): this machine's loopback
// address only, and nothing at all.
const loopbackOnly: AddressPolicy = { allowsAddress: (address) => address === '127.0.0.1' };
const nothing: AddressPolicy = { allowsAddress: () => false };
// A name no resolver knows: only the injected lookup gives it addresses.
const GIT_HOST = 'git.mosaic-fed.invalid';

function recordingLogger(): { logger: Logger; reasons: string[] } {
  const reasons: string[] = [];
  return { reasons, logger: { ...silentLogger, warn: (_message, fields) => void reasons.push(String(fields?.reason)) } };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected the clone to fail'),
    (caught: unknown) => caught as Error,
  );
}

/** A checkout of the fixture on `agentBranch` in a process sandbox, for `work`; both removed after. */
async function inSandbox(agentBranch: string, work: (workspace: Workspace, sandbox: Sandbox) => Promise<void>): Promise<void> {
  const workspace = await new GitWorkspaceProvider({ allowFileUrls: true }).checkout(
    { repository: repository.url, branch: 'main', agentBranch },
    new AbortController().signal,
  );
  const sandbox = await new ProcessSandboxProvider().create({ agentId: randomUUID(), source: workspace.dir });
  try {
    await work(workspace, sandbox);
  } finally {
    await sandbox.destroy();
    await workspace.remove();
  }
}

describe('git workspaces', () => {
  it('checks the branch out on the host and turns the sandbox tree into a diff, deletions and new files included', async () => {
    const workspace = await new GitWorkspaceProvider({ allowFileUrls: true }).checkout({ repository: repository.url, branch: 'main', agentBranch: 'mosaic/agent-test' }, new AbortController().signal);
    const sandbox = await new ProcessSandboxProvider().create({ agentId: 'c0ffee00-0000-4000-8000-000000000000', source: workspace.dir });
    try {
      expect(readFileSync(join(workspace.dir, 'calc.sh'), 'utf8')).toContain('$1 - $2');
      await sandbox.exec('rm test.sh && echo "# notes" > NOTES.md', { timeoutMs: 5_000 });
      const { patch } = await workspace.changes(sandbox);
      expect(patch).toContain('diff --git a/NOTES.md b/NOTES.md\nnew file mode');
      expect(patch).toContain('diff --git a/test.sh b/test.sh\ndeleted file mode');
      expect(patch).not.toContain('diff --git a/calc.sh');
      expect((await workspace.changes(sandbox)).patch).toBe(patch);
    } finally {
      await sandbox.destroy();
      await workspace.remove();
    }
  });

  it("gives the sandbox the branch's history, on the agent's own branch, with no remote and an identity for commits", async () => {
    await inSandbox('mosaic/agent-history', async (_workspace, sandbox) => {
      const run = async (command: string) => (await sandbox.exec(command, { timeoutMs: 5_000 })).stdout.trim();
      expect(await run('git log --format=%s')).toBe('A first version, with a bug');
      expect(await run('git branch --show-current')).toBe('mosaic/agent-history');
      expect(await run('git remote')).toBe('');
      expect(await run('git config user.email')).toBe('agent@mosaic-fed.invalid');
    });
  });

  it("builds the patch from the agent's commits and what it left uncommitted, binary files and modes included", async () => {
    await inSandbox('mosaic/agent-commits', async (workspace, sandbox) => {
      const committed = await sandbox.exec(
        "sed -i 's/\\$1 - \\$2/$1 + $2/' calc.sh && git commit --quiet -am 'Add, not subtract' && printf '\\211PNG\\0\\1\\2' > logo.png && chmod +x test.sh",
        { timeoutMs: 5_000 },
      );
      expect(committed.exitCode, committed.stderr).toBe(0);
      const { patch = '' } = await workspace.changes(sandbox);
      expect(patch).toContain('+  echo $(($1 + $2))');
      expect(patch).toContain('diff --git a/logo.png b/logo.png\nnew file mode 100644');
      expect(patch).toContain('GIT binary patch');
      expect(patch).toContain('diff --git a/test.sh b/test.sh\nold mode 100644\nnew mode 100755');
      // What was left uncommitted was committed for the agent, on its branch.
      expect((await sandbox.exec('git log --format=%s', { timeoutMs: 5_000 })).stdout.trim().split('\n')).toEqual([
        'Work the agent left uncommitted',
        'Add, not subtract',
        'A first version, with a bug',
      ]);
    });
  });

  it('refuses commits that do not build on the commit the agent started from', async () => {
    await inSandbox('mosaic/agent-orphan', async (workspace, sandbox) => {
      await sandbox.exec("git checkout --quiet --orphan elsewhere && git commit --quiet -m 'Another history'", { timeoutMs: 5_000 });
      await expect(workspace.changes(sandbox)).rejects.toThrow("the agent's commits do not build on the commit it started from");
    });
  });

  it('reads no bundle larger than a result can use', async () => {
    await inSandbox('mosaic/agent-huge', async (workspace, sandbox) => {
      // 65 MiB of random bytes: git cannot compress them below the cap.
      await sandbox.exec('head -c 68157440 /dev/urandom > blob.bin', { timeoutMs: 30_000 });
      await expect(workspace.changes(sandbox)).rejects.toThrow("the agent's commits are too large to take back (over 64 MiB)");
    });
  }, 60_000);

  it('refuses file:// repositories unless allowed, and option-looking input never reaches git as an option', async () => {
    const signal = new AbortController().signal;
    await expect(new GitWorkspaceProvider().checkout({ repository: repository.url, branch: 'main', agentBranch: 'mosaic/agent-test' }, signal)).rejects.toThrow(/file:\/\/ repositories are not allowed/);
    const marker = join(mkdtempSync(join(tmpdir(), 'mosaic-git-')), 'pwned');
    // Were the branch read as an option, git would run the upload-pack command and create
    // the marker. (The spawn schema refuses such a branch before it gets here as well.)
    await expect(
      new GitWorkspaceProvider({ allowFileUrls: true }).checkout({ repository: repository.url, branch: `--upload-pack=touch ${marker}`, agentBranch: 'mosaic/agent-test' }, signal),
    ).rejects.toThrow(/could not clone/);
    expect(() => readFileSync(marker)).toThrow();
    rmSync(join(marker, '..'), { recursive: true, force: true });
  });

  it('keeps credentials out of errors', async () => {
    expect(redactCredentials('fatal: unable to access https://bot:s3cret-token@git.example.com/org/repo')).toBe(
      'fatal: unable to access https://***@git.example.com/org/repo',
    );
    const error = (await new GitWorkspaceProvider({ cloneTimeoutMs: 10_000, addressPolicy: loopbackOnly })
      .checkout({ repository: 'http://bot:s3cret-token@127.0.0.1:9/org/repo.git', branch: 'main', agentBranch: 'mosaic/agent-test' }, new AbortController().signal)
      .then(
        () => new Error('expected the clone to fail'),
        (caught: unknown) => caught,
      )) as Error;
    expect(error.message).toContain('could not clone http://***@127.0.0.1:9/org/repo.git at main');
    expect(error.message).not.toContain('s3cret-token');
    expect(error.cause).toBeUndefined();
  });

  it('says the same of every failed clone, whatever answered (or not) at the address', async () => {
    // Every address tried is on this machine: a closed port, and an open one that is no git server.
    const web = createServer((_request, response) => {
      response.statusCode = 404;
      response.end('not here');
    });
    await new Promise<void>((done) => web.listen(0, '127.0.0.1', done));
    const open = (web.address() as AddressInfo).port;
    const reasons: string[] = [];
    const logged: unknown[] = [];
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => void logged.push(fields) };
    try {
      for (const port of [9, open]) {
        const error = await new GitWorkspaceProvider({ cloneTimeoutMs: 10_000, logger, addressPolicy: loopbackOnly })
          .checkout({ repository: `http://127.0.0.1:${port}/org/repo.git`, branch: 'main', agentBranch: 'mosaic/agent-test' }, new AbortController().signal)
          .then(
            () => new Error('expected the clone to fail'),
            (caught: unknown) => caught as Error,
          );
        reasons.push(error.message.replace(String(port), 'PORT'));
      }
    } finally {
      await new Promise((done) => web.close(done));
    }
    expect(reasons).toEqual(['could not clone http://127.0.0.1:PORT/org/repo.git at main', 'could not clone http://127.0.0.1:PORT/org/repo.git at main']);
    // The host's log has git's own reasons, which differ.
    expect(logged).toHaveLength(2);
    expect(JSON.stringify(logged[0])).not.toBe(JSON.stringify(logged[1]));
  });

  describe('fetching through the outbound address policy (PROTOCOL 3)', () => {
    const signal = new AbortController().signal;
    let git: Awaited<ReturnType<typeof startGitHttpServer>>;
    beforeAll(async () => {
      git = await startGitHttpServer(join(repository.dir, '..'));
    });
    afterAll(() => git.close());
    const served = () => `${repository.dir.split('/').at(-1) ?? ''}`;

    it('connects only to an address the policy allows, the one it checked, under the name of the repository', async () => {
      git.requests.length = 0;
      // The name's first address is refused: git must reach the second, and never ask DNS.
      const lookup = async (hostname: string) =>
        hostname === GIT_HOST ? [{ address: '10.77.0.1', family: 4 }, { address: '127.0.0.1', family: 4 }] : [];
      const workspace = await new GitWorkspaceProvider({ addressPolicy: loopbackOnly, lookup, cloneTimeoutMs: 20_000 }).checkout(
        { repository: `http://${GIT_HOST}:${git.port}/${served()}`, branch: 'main', agentBranch: 'mosaic/agent-test' },
        signal,
      );
      try {
        expect(readFileSync(join(workspace.dir, 'calc.sh'), 'utf8')).toContain('$1 - $2');
      } finally {
        await workspace.remove();
      }
      expect(git.requests.length).toBeGreaterThan(0);
      expect(new Set(git.requests.map((request) => request.host))).toEqual(new Set([`${GIT_HOST}:${git.port}`]));
    });

    it('refuses every repository whose host has no allowed address, before git connects, in every transport', async () => {
      git.requests.length = 0;
      const { logger, reasons } = recordingLogger();
      const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
      const provider = new GitWorkspaceProvider({ addressPolicy: nothing, lookup, logger, cloneTimeoutMs: 10_000 });
      const repositories = [
        `http://127.0.0.1:${git.port}/${served()}`,
        `http://${GIT_HOST}:${git.port}/${served()}`,
        `${GIT_HOST}/${served()}`,
        `ssh://git@${GIT_HOST}/${served()}`,
        `git@${GIT_HOST}:${served()}`,
        `git://${GIT_HOST}:${git.port}/${served()}`,
      ];
      for (const candidate of repositories) {
        const error = await failure(provider.checkout({ repository: candidate, branch: 'main', agentBranch: 'mosaic/agent-test' }, signal));
        expect(error.message).toBe(`could not clone ${redactCredentials(candidate)} at main`);
      }
      expect(git.requests).toEqual([]);
      expect(reasons).toHaveLength(repositories.length);
      for (const reason of reasons) expect(reason).toMatch(/no address this host may reach|is not an address this host may reach/);
    });

    it('clones nothing over the network without a policy', async () => {
      const { logger, reasons } = recordingLogger();
      const error = await failure(
        new GitWorkspaceProvider({ logger }).checkout({ repository: `http://127.0.0.1:${git.port}/${served()}`, branch: 'main', agentBranch: 'mosaic/agent-test' }, signal),
      );
      expect(error.message).toMatch(/^could not clone/);
      expect(reasons).toEqual(['there is no address policy here: only file:// repositories are reached']);
    });

    it('answers a private repository\'s host with the spoke\'s credential, and no other host, keeping it out of the checkout', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mosaic-credentials-'));
      try {
        const credentials = new GitCredentialFile(join(dir, GIT_CREDENTIALS_FILE));
        const provider = new GitWorkspaceProvider({ addressPolicy: loopbackOnly, credentials, cloneTimeoutMs: 20_000 });
        const privateRepository = { repository: `http://127.0.0.1:${git.port}/private/${served()}`, branch: 'main', agentBranch: 'mosaic/agent-test' };
        // No credential for the host: refused by the server, and the host user's helpers are never asked.
        await expect(provider.checkout(privateRepository, signal)).rejects.toThrow(/^could not clone/);
        // A credential for another host is not sent.
        await credentials.set('git.example.com', { username: 'other', password: 'not-for-this-host' }, new Date());
        git.requests.length = 0;
        await expect(provider.checkout(privateRepository, signal)).rejects.toThrow(/^could not clone/);
        expect(git.requests.every((request) => request.authorization === undefined)).toBe(true);

        await credentials.set(`127.0.0.1:${git.port}`, GIT_SERVER_CREDENTIAL, new Date());
        expect(statSync(credentials.path).mode & 0o777).toBe(0o600);
        const workspace = await provider.checkout(privateRepository, signal);
        try {
          expect(readFileSync(join(workspace.dir, 'calc.sh'), 'utf8')).toContain('$1 - $2');
          // Nothing of the credential stays with the checkout the sandbox gets.
          expect(readFileSync(join(workspace.dir, '.git', 'config'), 'utf8')).not.toContain(GIT_SERVER_CREDENTIAL.password);
        } finally {
          await workspace.remove();
        }
        expect(await credentials.list()).toEqual([
          { host: `127.0.0.1:${git.port}`, username: GIT_SERVER_CREDENTIAL.username, updatedAt: expect.any(String) },
          { host: 'git.example.com', username: 'other', updatedAt: expect.any(String) },
        ]);
        expect(await credentials.remove('git.example.com')).toEqual({ host: 'git.example.com', username: 'other', updatedAt: expect.any(String) });
        expect(await credentials.remove('git.example.com')).toBeUndefined();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('follows no redirect', async () => {
      git.requests.length = 0;
      const error = await failure(
        new GitWorkspaceProvider({ addressPolicy: loopbackOnly, cloneTimeoutMs: 10_000 }).checkout(
          { repository: `http://127.0.0.1:${git.port}/moved/${served()}`, branch: 'main', agentBranch: 'mosaic/agent-test' },
          signal,
        ),
      );
      expect(error.message).toMatch(/^could not clone/);
      expect(git.requests.length).toBeGreaterThan(0);
      expect(git.requests.every((request) => request.path.startsWith('/moved/'))).toBe(true);
    });
  });

  it('hands back a change too large for a message as a bundle alone', async () => {
    await inSandbox('mosaic/agent-big', async (workspace, sandbox) => {
      writeFileSync(join(sandbox.workdir, 'big.txt'), 'x'.repeat(100).concat('\n').repeat(2_000));
      const changes = await workspace.changes(sandbox);
      expect(changes.patch).toBeUndefined();
      const clone = cloneWithBundle(changes);
      expect(readFileSync(join(clone.dir, 'big.txt'), 'utf8')).toHaveLength(202_000);
    });
  });

  it("bundles the agent's branch so a clone at the base takes its commits whole: binary files, renames and modes kept", async () => {
    await inSandbox('mosaic/agent-bundle', async (workspace, sandbox) => {
      const made = await sandbox.exec(
        "git mv test.sh check.sh && chmod +x check.sh && printf '\\211PNG\\0\\1\\2\\377' > logo.png && git add -A && git commit --quiet -m 'Rename, a mode, a picture'",
        { timeoutMs: 5_000 },
      );
      expect(made.exitCode, made.stderr).toBe(0);
      const changes = await workspace.changes(sandbox);
      expect(changes.bundle).toMatchObject({ branch: 'mosaic/agent-bundle', base: expect.stringMatching(/^[0-9a-f]{40}$/) });
      const clone = cloneWithBundle(changes);
      expect(clone.git('log', '--format=%s', 'mosaic/agent-bundle').trim()).toBe('Rename, a mode, a picture\nA first version, with a bug');
      expect(clone.git('diff', '--name-status', '-M', `${changes.bundle?.base}`, 'mosaic/agent-bundle').trim().split('\n').sort()).toEqual(['A\tlogo.png', 'R100\ttest.sh\tcheck.sh']);
      expect([...readFileSync(join(clone.dir, 'logo.png'))]).toEqual([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff]);
      expect(statSync(join(clone.dir, 'check.sh')).mode & 0o111).not.toBe(0);
    });
    // Nothing changed, nothing handed back.
    await inSandbox('mosaic/agent-idle', async (workspace, sandbox) => {
      expect(await workspace.changes(sandbox)).toEqual({});
    });
  });
});

/** A clone of the fixture that fetched the bundle's branch and checked it out. */
function cloneWithBundle(changes: WorkspaceChanges): { dir: string; git: (...args: string[]) => string } {
  const { bundle } = changes;
  if (bundle === undefined) throw new Error('expected a bundle');
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-bundle-clone-'));
  clones.push(dir);
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('git', ['clone', '--quiet', repository.url, dir]);
  const file = join(dir, '..', `${randomUUID()}.bundle`);
  writeFileSync(file, bundle.data);
  clones.push(file);
  git('bundle', 'verify', '--quiet', file);
  git('fetch', '--quiet', file, `refs/heads/${bundle.branch}:refs/heads/${bundle.branch}`);
  git('checkout', '--quiet', bundle.branch);
  return { dir, git };
}
