// Where git may go for a repository (PROTOCOL 3, "Outbound requests"), for clones on the
// spoke and pushes on the hub alike: the host's name is resolved here, every address the
// policy refuses is dropped, and git connects to one of the checked addresses only (curl's
// resolve list for http(s), ssh's HostName for ssh, the address itself for git://), so
// the name is never resolved a second time. Redirects are not followed and no other
// transport is allowed. An http(s) host with a credential gets it through git's
// environment, never in a URL or an argument; the host user's own helpers are never asked.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AddressPolicy } from '@mosaic-fed/core';
import type { GitCredentialSource } from './credentials.js';

/** Every address of a name, as `dns.promises.lookup` with `all: true` gives them. */
export type LookupAddresses = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export interface GitRemotesOptions {
  /** Which addresses git may connect to: the server's `OutboundPolicy`. Without one, only `file://` repositories. */
  addressPolicy?: AddressPolicy | undefined;
  /** Resolves a repository's host. Default the system resolver. */
  lookup?: LookupAddresses | undefined;
  /** Credentials by host, for http(s) repositories. */
  credentials?: GitCredentialSource | undefined;
}

/** Why a repository is not reached; for the host's log only (it says which addresses answer). */
export class GitRemoteRefusal extends Error {}

/** How git is to reach a repository: its URL, and the settings and environment that pin the address. */
export interface GitRemoteTarget {
  url: string;
  config: string[];
  env: Record<string, string>;
}

const systemLookup: LookupAddresses = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// Host names git may be told about in a setting or an ssh option: nothing a shell or an
// option parser would read as more than a name.
const PLAIN_HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const SCP_LIKE = /^([^/@:\s]+)@([^/:\s]+):(.*)$/;

/** Turns repository addresses into checked, pinned git targets. */
export class GitRemotes {
  readonly #options: GitRemotesOptions;
  readonly #lookup: LookupAddresses;

  constructor(options: GitRemotesOptions = {}) {
    this.#options = options;
    this.#lookup = options.lookup ?? systemLookup;
  }

  /**
   * The URL git is to use for `repository` and the settings that keep it to a checked
   * address, with the credential for its host; throws {@link GitRemoteRefusal}.
   */
  async target(repository: string): Promise<GitRemoteTarget> {
    // Only the transport the URL names; no redirect to another place.
    const only = (scheme: string, url: string, config: string[] = [], env: Record<string, string> = {}): GitRemoteTarget => ({
      url,
      config: ['-c', 'protocol.allow=never', '-c', `protocol.${scheme}.allow=always`, '-c', 'http.followRedirects=false', ...config],
      // Nobody is asked for anything: a credential comes from the helper, or not at all.
      env: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', ...env },
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
      throw new GitRemoteRefusal('not a repository address');
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
        throw new GitRemoteRefusal(`${scheme} repositories are not fetched`);
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

  /** An address of `host` the policy allows; throws {@link GitRemoteRefusal}. */
  async #checkedAddress(host: string): Promise<string> {
    const policy = this.#options.addressPolicy;
    if (policy === undefined) throw new GitRemoteRefusal('there is no address policy here: only file:// repositories are reached');
    if (isIP(host) !== 0) {
      if (!policy.allowsAddress(host)) throw new GitRemoteRefusal(`${host} is not an address this host may reach`);
      return host;
    }
    if (!PLAIN_HOST.test(host)) throw new GitRemoteRefusal('not a host name');
    let addresses: readonly { address: string }[];
    try {
      addresses = await this.#lookup(host);
    } catch {
      throw new GitRemoteRefusal(`${host} does not resolve`);
    }
    const allowed = addresses.find((entry) => policy.allowsAddress(entry.address));
    if (allowed === undefined) throw new GitRemoteRefusal(`${host} resolves to no address this host may reach`);
    return allowed.address;
  }
}

// A git credential helper that answers `get` from the clone's environment: the helper's
// text, which any process may read, holds no secret.
const CREDENTIAL_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$MOSAIC_FED_GIT_USERNAME" "$MOSAIC_FED_GIT_PASSWORD"; }; f`;

/** ssh to the checked address, with `host`'s known host key; nothing asked interactively. */
function sshTo(host: string, address: string): Record<string, string> {
  if (!PLAIN_HOST.test(host)) throw new GitRemoteRefusal('not a host name');
  return {
    GIT_SSH_VARIANT: 'ssh',
    GIT_SSH_COMMAND: `ssh -o BatchMode=yes -o HostName=${address} -o HostKeyAlias=${host} -o CheckHostIP=no`,
  };
}

