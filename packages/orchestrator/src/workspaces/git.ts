// GitWorkspaceProvider: clones the branch on the host (where the network and credentials
// are), so the sandbox needs neither, with its recent history and a branch for the agent;
// and turns the agent's commits back into a bundle of that branch and, when small, a diff.
//
// The agent's git repository is its own: nothing on the host ever runs git in it (its
// config and hooks are the agent's to write). The agent's commits leave the sandbox as a
// bundle that git made inside it, which the host checks (its objects fsck'ed, its base
// the commit the agent started from) before it takes the commits into its own checkout
// and makes the result's bundle and diff there.
//
// A clone is an outbound request made on a peer's behalf (PROTOCOL 3): GitRemotes decides
// where git may connect, and pins it there.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LIMITS, silentLogger, type AddressPolicy, type Logger } from '@mosaic-fed/core';
import { AgentFailure } from '../lib/failure.js';
import { redactCredentials } from '../lib/redact.js';
import type { Sandbox } from '../sandboxes/types.js';
import type { GitCredentialSource } from './credentials.js';
import { GitRemoteRefusal, GitRemotes, type LookupAddresses } from './git-remote.js';
import type { CheckoutSource, Workspace, WorkspaceChanges, WorkspaceProvider } from './types.js';

const run = promisify(execFile);

export interface GitWorkspaceOptions {
  /** Where checkouts are made. Default: the system's temp directory. */
  root?: string;
  /** Allow `file://` repositories (local demos and tests). Default false. */
  allowFileUrls?: boolean;
  /**
   * Which addresses clones may connect to (PROTOCOL 3, "Outbound requests"): the server's
   * `OutboundPolicy`. Without one, nothing but `file://` repositories can be cloned.
   */
  addressPolicy?: AddressPolicy;
  /** Resolves a repository's host. Default the system resolver. */
  lookup?: LookupAddresses;
  /**
   * The spoke's git credentials, by host: an http(s) clone answers its host with that
   * host's credential, passed to git in its environment, never in a URL or an argument.
   * The host user's own credential helpers are never asked.
   */
  credentials?: GitCredentialSource;
  /** Clone timeout in milliseconds. Default 300,000. */
  cloneTimeoutMs?: number;
  /** Commits of the branch's history the checkout holds. Default 50. */
  historyDepth?: number;
  /** Where git's own reason for a failed clone goes: never to the peer. */
  logger?: Logger;
}

/** Who the agent's commits are by. */
export const AGENT_IDENTITY = { name: 'Mosaic Federation agent', email: 'agent@mosaic-fed.invalid' };

/** Where, inside the sandbox's `.git`, the bundle of the agent's commits is left for the host. */
const BUNDLE = 'mosaic-agent.bundle';

/** Where the host keeps the agent's commits in its own checkout once it has checked them. */
const AGENT_REF = 'refs/mosaic/agent';

/** The exit status of the bundling script when the sandbox has no git. */
const NO_GIT = 3;

/** A patch over this many bytes is left out of the result (it would not fit in a message): the bundle carries the work. */
export const MAX_PATCH_BYTES = 160 * 1024;

export { redactCredentials };

export class GitWorkspaceProvider implements WorkspaceProvider {
  readonly #options: GitWorkspaceOptions;
  readonly #remotes: GitRemotes;

  constructor(options: GitWorkspaceOptions = {}) {
    this.#options = options;
    this.#remotes = new GitRemotes(options);
  }

  async checkout(source: CheckoutSource, signal: AbortSignal): Promise<Workspace> {
    if (/^file:\/\//i.test(source.repository) && this.#options.allowFileUrls !== true) {
      throw new AgentFailure('file:// repositories are not allowed on this orchestrator');
    }
    const root = await mkdtemp(join(this.#options.root ?? tmpdir(), 'mosaic-checkout-'));
    const dir = join(root, 'repo');
    try {
      const target = await this.#remotes.target(source.repository);
      // `--` ends the options: neither the URL nor the directory can be read as one, and
      // the branch is a checked ref name (no leading `-`, PROTOCOL 5).
      const depth = String(this.#options.historyDepth ?? 50);
      await run('git', [...target.config, 'clone', '--quiet', '--depth', depth, '--single-branch', '--branch', source.branch, '--', target.url, dir], {
        signal,
        timeout: this.#options.cloneTimeoutMs ?? 300_000,
        env: { ...process.env, ...target.env },
      });
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      signal.throwIfAborted();
      // git's reason ("Failed to connect", "not found", ...) and the policy's would tell a
      // peer which ports answer on this host's network: they go to this host's log only,
      // and every failed clone reads the same to the peer.
      const reason =
        error instanceof GitRemoteRefusal
          ? error.message
          : (redactCredentials(String((error as { stderr?: unknown }).stderr ?? '')).trim().split('\n').at(-1) ?? '');
      (this.#options.logger ?? silentLogger).warn('a clone failed', { repository: redactCredentials(source.repository), branch: source.branch, reason });
      // The cause is left out on purpose: git's error carries the URL with its credentials.
      throw new AgentFailure(`could not clone ${redactCredentials(source.repository)} at ${source.branch}`);
    }
    // The sandbox gets the repository without the address it came from, on the agent's
    // own branch, with an identity for the agent's commits.
    const git = (...args: string[]) => run('git', ['-C', dir, ...args], { signal });
    await git('remote', 'remove', 'origin');
    await git('switch', '--quiet', '--create', source.agentBranch);
    await git('config', 'user.name', AGENT_IDENTITY.name);
    await git('config', 'user.email', AGENT_IDENTITY.email);
    await git('config', 'commit.gpgsign', 'false');
    const base = (await git('rev-parse', 'HEAD')).stdout.trim();
    return new GitWorkspace(root, dir, base, source.agentBranch);
  }

}

class GitWorkspace implements Workspace {
  readonly dir: string;
  readonly #root: string;
  /** The commit the agent started from. */
  readonly #base: string;
  /** The agent's branch: the one ref of its bundle. */
  readonly #branch: string;

  constructor(root: string, dir: string, base: string, branch: string) {
    this.#root = root;
    this.dir = dir;
    this.#base = base;
    this.#branch = branch;
  }

  async changes(sandbox: Sandbox): Promise<WorkspaceChanges> {
    // Inside the sandbox, with the sandbox's git: what the agent left uncommitted becomes
    // one more commit, and every commit since the base goes into a bundle.
    const bundled = await sandbox.exec(bundleScript(this.#base), { timeoutMs: 120_000 });
    const tree = await mkdtemp(join(this.#root, 'tree-'));
    try {
      await sandbox.exportTo(tree);
      const changed = bundled.exitCode === NO_GIT ? await this.#commitTree(tree) : await this.#fetchBundle(tree, bundled);
      if (!changed) return {};
      return await this.#result();
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  }

  async remove(): Promise<void> {
    await rm(this.#root, { recursive: true, force: true });
  }

  /** Takes the agent's commits from the bundle it made, once checked, to {@link AGENT_REF}; false when it made none. */
  async #fetchBundle(tree: string, bundled: { exitCode: number }): Promise<boolean> {
    // git's words may name paths of the sandbox: the peer reads only what failed.
    if (bundled.exitCode !== 0) throw new AgentFailure("the agent's work could not be committed in the sandbox (git failed there)");
    const bundle = join(tree, '.git', BUNDLE);
    if (!existsSync(bundle)) return false;
    // The bundle is the sandbox's to write: a plain file (never a link to a host file), and
    // no larger than a result can use.
    const found = lstatSync(bundle);
    if (!found.isFile()) throw new AgentFailure("the agent's commits could not be read back from the sandbox");
    if (found.size > LIMITS.bundleMaxBytes) throw tooLarge();
    const git = hostGit(this.dir);
    // Every object is checked as it arrives, and the commits must build on the base: the
    // sandbox cannot hand the host anything else.
    await git('-c', 'transfer.fsckObjects=true', 'fetch', '--quiet', '--no-tags', bundle, `+HEAD:${AGENT_REF}`).catch(() => {
      throw new AgentFailure("the agent's commits could not be read back from the sandbox");
    });
    await git('merge-base', '--is-ancestor', this.#base, AGENT_REF).catch(() => {
      throw new AgentFailure("the agent's commits do not build on the commit it started from");
    });
    return true;
  }

  /** Without git in the sandbox: the sandbox's files, as the work tree of the host's checkout, become one commit at {@link AGENT_REF}. */
  async #commitTree(tree: string): Promise<boolean> {
    const git = hostGit(this.dir, ['--work-tree', tree]);
    // The index then holds exactly what the agent left, deletions included.
    await git('add', '--all');
    const treeId = (await git('write-tree')).stdout.trim();
    if (treeId === (await git('rev-parse', `${this.#base}^{tree}`)).stdout.trim()) return false;
    const commit = (await git('commit-tree', treeId, '-p', this.#base, '-m', UNCOMMITTED_MESSAGE)).stdout.trim();
    await git('update-ref', AGENT_REF, commit);
    return true;
  }

  /** The bundle of the agent's branch at {@link AGENT_REF} (its commits since the base), and its diff when small. */
  async #result(): Promise<WorkspaceChanges> {
    const git = hostGit(this.dir);
    const ref = `refs/heads/${this.#branch}`;
    await git('update-ref', ref, AGENT_REF);
    const file = join(this.#root, 'agent.bundle');
    await git('bundle', 'create', '--quiet', file, ref, `^${this.#base}`);
    const data = new Uint8Array(await readFile(file));
    if (data.length > LIMITS.bundleMaxBytes) throw tooLarge();
    const patch = (await git('diff', '--binary', '--no-color', '--no-ext-diff', '--no-renames', this.#base, AGENT_REF)).stdout;
    return {
      ...(Buffer.byteLength(patch) > MAX_PATCH_BYTES ? {} : { patch }),
      bundle: { data, base: this.#base, branch: this.#branch },
    };
  }
}

const tooLarge = () => new AgentFailure(`the agent's commits are too large to take back (over ${LIMITS.bundleMaxBytes / 1024 / 1024} MiB)`);

/** The message of the commit made of what the agent left uncommitted. */
const UNCOMMITTED_MESSAGE = 'Work the agent left uncommitted';

/** git on the host's own checkout, with nothing of the environment's git settings or hooks. */
function hostGit(dir: string, extra: string[] = []) {
  return (...args: string[]) =>
    run('git', ['--git-dir', join(dir, '.git'), ...extra, '-c', 'core.hooksPath=/dev/null', '-c', 'core.excludesFile=/dev/null', '-c', 'core.autocrlf=false', ...args], {
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: AGENT_IDENTITY.name,
        GIT_AUTHOR_EMAIL: AGENT_IDENTITY.email,
        GIT_COMMITTER_NAME: AGENT_IDENTITY.name,
        GIT_COMMITTER_EMAIL: AGENT_IDENTITY.email,
      },
    });
}

/**
 * Run in the sandbox after the agent: commits what it left, then bundles its commits
 * since `base` into `.git/mosaic-agent.bundle` (nothing when there are none). Exits
 * {@link NO_GIT} where the sandbox has no git.
 */
function bundleScript(base: string): string {
  const message = UNCOMMITTED_MESSAGE;
  return [
    `command -v git >/dev/null 2>&1 || exit ${NO_GIT}`,
    'git add --all',
    `git diff --cached --quiet || git -c core.hooksPath=/dev/null commit --quiet --no-verify -m '${message}'`,
    `rm -f .git/${BUNDLE}`,
    `if [ "$(git rev-parse HEAD)" != ${base} ]; then git bundle create --quiet .git/${BUNDLE} ${base}..HEAD; fi`,
  ].join(' && ');
}
