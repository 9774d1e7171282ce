// GitWorkspaceProvider: clones the branch on the host (where the network and credentials
// are), so the sandbox needs neither; and turns the sandbox's tree back into a diff.
//
// A clone is an outbound request made on a peer's behalf (PROTOCOL 3): the host's name is
// resolved here, every address the policy refuses is dropped, and git connects to one of
// the checked addresses only (curl's resolve list for http(s), ssh's HostName for ssh, the
// address itself for git://), so the name is never resolved a second time. Redirects are
// not followed and no other transport is allowed.
import { execFile } from 'node:child_process';
import { lookup as dnsLookup } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type AddressPolicy, type Logger } from '@mosaic-fed/core';
import { AgentFailure } from '../lib/failure.js';
import { redactCredentials } from '../lib/redact.js';
import type { Sandbox } from '../sandboxes/types.js';
import type { GitCredentialSource } from './credentials.js';
import type { Workspace, WorkspaceProvider } from './types.js';

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
  /** Where git's own reason for a failed clone goes: never to the peer. */
  logger?: Logger;
}

/** A patch over this many bytes is not sent: it would not fit in a federation message. */
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

  async checkout(source: { repository: string; branch: string }, signal: AbortSignal): Promise<Workspace> {
    if (/^file:\/\//i.test(source.repository) && this.#options.allowFileUrls !== true) {
      throw new AgentFailure('file:// repositories are not allowed on this orchestrator');
    }
    const root = await mkdtemp(join(this.#options.root ?? tmpdir(), 'mosaic-checkout-'));
    const dir = join(root, 'repo');
    try {
      const target = await this.#target(source.repository);
      // `--` ends the options: neither the URL nor the directory can be read as one, and
      // the branch is a checked ref name (no leading `-`, PROTOCOL 5).
      await run('git', [...target.config, 'clone', '--quiet', '--depth', '1', '--single-branch', '--branch', source.branch, '--', target.url, dir], {
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
    return new GitWorkspace(root, dir);
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
        throw new AgentFailure(`the changes are too large to send (${Buffer.byteLength(stdout)} bytes of diff, at most ${MAX_PATCH_BYTES})`);
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
