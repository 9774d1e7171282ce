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
// A clone is an outbound request made on a peer's behalf (PROTOCOL 3): the host's name is
// resolved here, every address the policy refuses is dropped, and git connects to one of
// the checked addresses only (curl's resolve list for http(s), ssh's HostName for ssh, the
// address itself for git://), so the name is never resolved a second time. Redirects are
// not followed and no other transport is allowed.
import { execFile } from 'node:child_process';
import { lookup as dnsLookup } from 'node:dns/promises';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LIMITS, silentLogger, type AddressPolicy, type Logger } from '@mosaic-fed/core';
import { AgentFailure } from '../lib/failure.js';
import { redactCredentials } from '../lib/redact.js';
import type { Sandbox } from '../sandboxes/types.js';
import type { GitCredentialSource } from './credentials.js';
import type { CheckoutSource, Workspace, WorkspaceChanges, WorkspaceProvider } from './types.js';

const run = promisify(execFile);

/** Every address of a name, as `dns.promises.lookup` with `all: true` gives them. */
export type LookupAddresses = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

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

/** Why a repository is not fetched; for the host's log only. */
class FetchRefusal extends Error {}

/** How git is to reach a repository: its URL, and the settings that pin the address. */
interface CloneTarget {
  url: string;
  config: string[];
  env: Record<string, string>;
}

const systemLookup: LookupAddresses = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// Host names git may be told about in a setting or an ssh option: nothing a shell or an
// option parser would read as more than a name.
const PLAIN_HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const SCP_LIKE = /^([^/@:\s]+)@([^/:\s]+):(.*)$/;

export class GitWorkspaceProvider implements WorkspaceProvider {
  readonly #options: GitWorkspaceOptions;
  readonly #lookup: LookupAddresses;

  constructor(options: GitWorkspaceOptions = {}) {
    this.#options = options;
    this.#lookup = options.lookup ?? systemLookup;
  }

  async checkout(source: CheckoutSource, signal: AbortSignal): Promise<Workspace> {
    if (/^file:\/\//i.test(source.repository) && this.#options.allowFileUrls !== true) {
      throw new AgentFailure('file:// repositories are not allowed on this orchestrator');
    }
    const root = await mkdtemp(join(this.#options.root ?? tmpdir(), 'mosaic-checkout-'));
    const dir = join(root, 'repo');
    try {
      const target = await this.#target(source.repository);
      // `--` ends the options: neither the URL nor the directory can be read as one, and
      // the branch is a checked ref name (no leading `-`, PROTOCOL 5).
      const depth = String(this.#options.historyDepth ?? 50);
      await run('git', [...target.config, 'clone', '--quiet', '--depth', depth, '--single-branch', '--branch', source.branch, '--', target.url, dir], {
        signal,
        timeout: this.#options.cloneTimeoutMs ?? 300_000,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', ...target.env },
      });
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      signal.throwIfAborted();
      // git's reason ("Failed to connect", "not found", ...) and the policy's would tell a
      // peer which ports answer on this host's network: they go to this host's log only,
      // and every failed clone reads the same to the peer.
      const reason =
        error instanceof FetchRefusal
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

  /** The URL git clones and the settings that keep it to a checked address. */
  async #target(repository: string): Promise<CloneTarget> {
    // Only the transport the URL names; no redirect to another place.
    const only = (scheme: string, url: string, config: string[] = [], env: Record<string, string> = {}): CloneTarget => ({
      url,
      config: ['-c', 'protocol.allow=never', '-c', `protocol.${scheme}.allow=always`, '-c', 'http.followRedirects=false', ...config],
      env,
    });
    if (/^file:\/\//i.test(repository)) return only('file', repository);
    const scp = SCP_LIKE.exec(repository);
    if (scp !== null) {
      const [, user = '', host = '', path = ''] = scp;
      const address = await this.#checkedAddress(host);
      return only('ssh', `${user}@${host}:${path}`, [], sshTo(host, address));
    }
    let url: URL;
    try {
      // A host/path is fetched over https.
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(repository) ? repository : `https://${repository}`);
    } catch {
      throw new FetchRefusal('not a repository address');
    }
    const scheme = url.protocol.slice(0, -1);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const address = await this.#checkedAddress(host);
    switch (scheme) {
      case 'http':
      case 'https': {
        const { config, env } = await this.#credentialFor(url.port === '' ? host : `${host}:${url.port}`);
        if (isIP(host) !== 0) return only(scheme, url.href, config, env);
        const port = url.port === '' ? (scheme === 'https' ? '443' : '80') : url.port;
        return only(scheme, url.href, [...config, '-c', `http.curloptResolve=${host}:${port}:${isIP(address) === 6 ? `[${address}]` : address}`], env);
      }
      case 'ssh':
        return only('ssh', url.href, [], sshTo(host, address));
      case 'git': {
        const pinned = new URL(url.href);
        pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
        return only('git', pinned.href);
      }
      default:
        throw new FetchRefusal(`${scheme} repositories are not fetched`);
    }
  }

  /**
   * The settings that answer `host` with its credential, if the spoke has one: a helper
   * that prints it from the environment. Either way no other helper is asked, so the host
   * user's stored credentials never serve a peer's clone.
   */
  async #credentialFor(host: string): Promise<{ config: string[]; env: Record<string, string> }> {
    const noHelpers = ['-c', 'credential.helper='];
    const credential = await this.#options.credentials?.forHost(host.toLowerCase());
    if (credential === undefined) return { config: noHelpers, env: {} };
    return {
      config: [...noHelpers, '-c', `credential.helper=${CREDENTIAL_HELPER}`],
      env: { MOSAIC_FED_GIT_USERNAME: credential.username, MOSAIC_FED_GIT_PASSWORD: credential.password },
    };
  }

  /** An address of `host` the policy allows; throws {@link FetchRefusal}. */
  async #checkedAddress(host: string): Promise<string> {
    const policy = this.#options.addressPolicy;
    if (policy === undefined) throw new FetchRefusal('this orchestrator has no address policy: it clones file:// repositories only');
    if (isIP(host) !== 0) {
      if (!policy.allowsAddress(host)) throw new FetchRefusal(`${host} is not an address this orchestrator may reach`);
      return host;
    }
    if (!PLAIN_HOST.test(host)) throw new FetchRefusal('not a host name');
    let addresses: readonly { address: string }[];
    try {
      addresses = await this.#lookup(host);
    } catch {
      throw new FetchRefusal(`${host} does not resolve`);
    }
    const allowed = addresses.find((entry) => policy.allowsAddress(entry.address));
    if (allowed === undefined) throw new FetchRefusal(`${host} resolves to no address this orchestrator may reach`);
    return allowed.address;
  }
}

// A git credential helper that answers `get` from the clone's environment: the helper's
// text, which any process may read, holds no secret.
const CREDENTIAL_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$MOSAIC_FED_GIT_USERNAME" "$MOSAIC_FED_GIT_PASSWORD"; }; f`;

/** ssh to the checked address, with `host`'s known host key; nothing asked interactively. */
function sshTo(host: string, address: string): Record<string, string> {
  if (!PLAIN_HOST.test(host)) throw new FetchRefusal('not a host name');
  return {
    GIT_SSH_VARIANT: 'ssh',
    GIT_SSH_COMMAND: `ssh -o BatchMode=yes -o HostName=${address} -o HostKeyAlias=${host} -o CheckHostIP=no`,
  };
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
