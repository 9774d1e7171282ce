// GitWorkspaceProvider: clones the branch on the host (where the network and credentials
// are), so the sandbox needs neither; and turns the sandbox's tree back into a diff.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Logger } from '@mosaic-fed/core';
import { redactCredentials } from '../lib/redact.js';
import type { Sandbox } from '../sandboxes/types.js';
import type { Workspace, WorkspaceProvider } from './types.js';

const run = promisify(execFile);

export interface GitWorkspaceOptions {
  /** Where checkouts are made. Default: the system's temp directory. */
  root?: string;
  /** Allow `file://` repositories (local demos and tests). Default false. */
  allowFileUrls?: boolean;
  /** Clone timeout in milliseconds. Default 300,000. */
  cloneTimeoutMs?: number;
  /** Where git's own reason for a failed clone goes: never to the peer. */
  logger?: Logger;
}

/** A patch over this many bytes is not sent: it would not fit in a federation message. */
export const MAX_PATCH_BYTES = 160 * 1024;

export { redactCredentials };

export class GitWorkspaceProvider implements WorkspaceProvider {
  readonly #options: GitWorkspaceOptions;

  constructor(options: GitWorkspaceOptions = {}) {
    this.#options = options;
  }

  async checkout(source: { repository: string; branch: string }, signal: AbortSignal): Promise<Workspace> {
    const url = this.#cloneUrl(source.repository);
    const root = await mkdtemp(join(this.#options.root ?? tmpdir(), 'mosaic-checkout-'));
    const dir = join(root, 'repo');
    try {
      // `--` ends the options: neither the URL nor the directory can be read as one, and
      // the branch is a checked ref name (no leading `-`, PROTOCOL 5).
      await run('git', ['clone', '--quiet', '--depth', '1', '--single-branch', '--branch', source.branch, '--', url, dir], {
        signal,
        timeout: this.#options.cloneTimeoutMs ?? 300_000,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
      });
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      signal.throwIfAborted();
      // git's reason ("Failed to connect", "not found", ...) would tell a peer which ports
      // answer on this host's network: it goes to this host's log only, and every failed
      // clone reads the same to the peer.
      const stderr = redactCredentials(String((error as { stderr?: unknown }).stderr ?? '')).trim().split('\n').at(-1) ?? '';
      (this.#options.logger ?? silentLogger).warn('a clone failed', { repository: redactCredentials(source.repository), branch: source.branch, reason: stderr });
      // The cause is left out on purpose: git's error carries the URL with its credentials.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`could not clone ${redactCredentials(source.repository)} at ${source.branch}`);
    }
    return new GitWorkspace(root, dir);
  }

  #cloneUrl(repository: string): string {
    if (/^file:\/\//i.test(repository)) {
      if (this.#options.allowFileUrls !== true) throw new Error('file:// repositories are not allowed on this orchestrator');
      return repository;
    }
    // A URL or scp-like `user@host:path` as given; `host/path` over https.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repository) || /^[^/@:\s]+@[^/:\s]+:/.test(repository)) return repository;
    return `https://${repository}`;
  }
}

class GitWorkspace implements Workspace {
  readonly dir: string;
  readonly #root: string;

  constructor(root: string, dir: string) {
    this.#root = root;
    this.dir = dir;
  }

  async diff(sandbox: Sandbox): Promise<string> {
    const tree = await mkdtemp(join(this.#root, 'tree-'));
    try {
      await sandbox.exportTo(tree);
      // The sandbox's files as the work tree of the checkout's repository: the index
      // then holds exactly what the agent left, deletions included.
      const git = (...args: string[]) =>
        run('git', ['--git-dir', join(this.dir, '.git'), '--work-tree', tree, '-c', 'core.excludesFile=/dev/null', '-c', 'core.autocrlf=false', ...args], {
          maxBuffer: 64 * 1024 * 1024,
        });
      await git('add', '--all');
      const { stdout } = await git('diff', '--cached', '--no-color', '--no-ext-diff');
      if (Buffer.byteLength(stdout) > MAX_PATCH_BYTES) {
        throw new Error(`the changes are too large to send (${Buffer.byteLength(stdout)} bytes of diff, at most ${MAX_PATCH_BYTES})`);
      }
      return stdout;
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  }

  async remove(): Promise<void> {
    await rm(this.#root, { recursive: true, force: true });
  }
}
