import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { GitWorkspaceProvider, ProcessSandboxProvider, redactCredentials } from '../src/node.js';
import { createFixtureRepository } from './helpers.js';

const repository = createFixtureRepository();
afterAll(() => repository.remove());

describe('git workspaces', () => {
  it('checks the branch out on the host and turns the sandbox tree into a diff, deletions and new files included', async () => {
    const workspace = await new GitWorkspaceProvider({ allowFileUrls: true }).checkout({ repository: repository.url, branch: 'main' }, new AbortController().signal);
    const sandbox = await new ProcessSandboxProvider().create({ agentId: 'c0ffee00-0000-4000-8000-000000000000', source: workspace.dir });
    try {
      expect(readFileSync(join(workspace.dir, 'calc.sh'), 'utf8')).toContain('$1 - $2');
      await sandbox.exec('rm test.sh && echo "# notes" > NOTES.md', { timeoutMs: 5_000 });
      const patch = await workspace.diff(sandbox);
      expect(patch).toContain('diff --git a/NOTES.md b/NOTES.md\nnew file mode');
      expect(patch).toContain('diff --git a/test.sh b/test.sh\ndeleted file mode');
      expect(patch).not.toContain('diff --git a/calc.sh');
      expect(await workspace.diff(sandbox)).toBe(patch);
    } finally {
      await sandbox.destroy();
      await workspace.remove();
    }
  });

  it('refuses file:// repositories unless allowed, and option-looking input never reaches git as an option', async () => {
    const signal = new AbortController().signal;
    await expect(new GitWorkspaceProvider().checkout({ repository: repository.url, branch: 'main' }, signal)).rejects.toThrow(/file:\/\/ repositories are not allowed/);
    const marker = join(mkdtempSync(join(tmpdir(), 'mosaic-git-')), 'pwned');
    // Were the branch read as an option, git would run the upload-pack command and create
    // the marker. (The spawn schema refuses such a branch before it gets here as well.)
    await expect(
      new GitWorkspaceProvider({ allowFileUrls: true }).checkout({ repository: repository.url, branch: `--upload-pack=touch ${marker}` }, signal),
    ).rejects.toThrow(/could not clone/);
    expect(() => readFileSync(marker)).toThrow();
    rmSync(join(marker, '..'), { recursive: true, force: true });
  });

  it('keeps credentials out of errors', async () => {
    expect(redactCredentials('fatal: unable to access https://bot:s3cret-token@git.example.com/org/repo')).toBe(
      'fatal: unable to access https://***@git.example.com/org/repo',
    );
    const error = (await new GitWorkspaceProvider({ cloneTimeoutMs: 10_000 })
      .checkout({ repository: 'http://bot:s3cret-token@127.0.0.1:9/org/repo.git', branch: 'main' }, new AbortController().signal)
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
        const error = await new GitWorkspaceProvider({ cloneTimeoutMs: 10_000, logger })
          .checkout({ repository: `http://127.0.0.1:${port}/org/repo.git`, branch: 'main' }, new AbortController().signal)
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

  it('refuses a patch too large to travel in a federation message', async () => {
    const workspace = await new GitWorkspaceProvider({ allowFileUrls: true }).checkout({ repository: repository.url, branch: 'main' }, new AbortController().signal);
    const sandbox = await new ProcessSandboxProvider().create({ agentId: 'c0ffee01-0000-4000-8000-000000000000', source: workspace.dir });
    try {
      writeFileSync(join(sandbox.workdir, 'big.txt'), 'x'.repeat(100).concat('\n').repeat(2_000));
      await expect(workspace.diff(sandbox)).rejects.toThrow(/too large to send/);
    } finally {
      await sandbox.destroy();
      await workspace.remove();
    }
  });
});
