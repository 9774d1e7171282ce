import type { AddressPolicy } from '@mosaic-fed/core';
import { describe, expect, it } from 'vitest';
import { GitRemoteRefusal, GitRemotes, type LookupAddresses } from '../src/node.js';

// Where git may go for a repository (PROTOCOL 3, "Outbound requests"): each transport is
// pinned to an address that was checked here, nothing else is allowed, and an address the
// policy refuses is never handed to git. (git-workspaces.test.ts clones for real.)

/** Allows 203.0.113.0/24 and 2001:db8::/32 only (documentation ranges, as public hosts). */
const policy: AddressPolicy = { allowsAddress: (address) => address.startsWith('203.0.113.') || address.toLowerCase().startsWith('2001:db8:') };
const names: Record<string, string[]> = {
  'git.example.com': ['10.0.0.5', '203.0.113.7'],
  'v6.example.com': ['2001:db8::7'],
  'inside.example.com': ['10.0.0.9'],
};
const lookup: LookupAddresses = async (hostname) => {
  const found = names[hostname];
  if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const remotes = new GitRemotes({ addressPolicy: policy, lookup });
const allowOnly = (scheme: string) => ['-c', 'protocol.allow=never', '-c', `protocol.${scheme}.allow=always`, '-c', 'http.followRedirects=false'];

describe('GitRemotes', () => {
  it('pins https to the allowed address of its host, for the default port and a given one', async () => {
    const target = await remotes.target('https://git.example.com/org/repo.git');
    expect(target.url).toBe('https://git.example.com/org/repo.git');
    expect(target.config).toEqual([...allowOnly('https'), '-c', 'credential.helper=', '-c', 'http.curloptResolve=git.example.com:443:203.0.113.7']);
    expect(target.env).toEqual({ GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' });
    expect((await remotes.target('http://v6.example.com:8080/x.git')).config).toContain('http.curloptResolve=v6.example.com:8080:[2001:db8::7]');
    // A host/path is fetched over https.
    expect((await remotes.target('git.example.com/org/repo')).url).toBe('https://git.example.com/org/repo');
  });

  it('pins ssh (URL and scp-like) through HostName, and git:// to the address itself', async () => {
    const scp = await remotes.target('git@git.example.com:org/repo.git');
    expect(scp.url).toBe('git@git.example.com:org/repo.git');
    expect(scp.config).toEqual(allowOnly('ssh'));
    expect(scp.env.GIT_SSH_COMMAND).toBe('ssh -o BatchMode=yes -o HostName=203.0.113.7 -o HostKeyAlias=git.example.com -o CheckHostIP=no');
    expect((await remotes.target('ssh://git@v6.example.com/org/repo.git')).env.GIT_SSH_COMMAND).toContain('-o HostName=2001:db8::7 -o HostKeyAlias=v6.example.com');
    expect((await remotes.target('git://git.example.com/org/repo.git')).url).toBe('git://203.0.113.7/org/repo.git');
    expect((await remotes.target('git://v6.example.com/org/repo.git')).url).toBe('git://[2001:db8::7]/org/repo.git');
  });

  it('refuses, saying why for the log: a refused address, a name that resolves to none allowed or not at all, other transports, no policy', async () => {
    const refusals: [string, string][] = [
      ['https://10.0.0.5/org/repo.git', '10.0.0.5 is not an address this host may reach'],
      ['https://inside.example.com/org/repo.git', 'inside.example.com resolves to no address this host may reach'],
      ['git@inside.example.com:org/repo.git', 'inside.example.com resolves to no address this host may reach'],
      ['https://nowhere.example.com/org/repo.git', 'nowhere.example.com does not resolve'],
      ['ftp://git.example.com/org/repo.git', 'ftp repositories are not fetched'],
      ['ext::sh -c touch% /tmp/pwned', 'not a repository address'],
      ['https://exa_mple.com/repo.git', 'not a host name'],
    ];
    for (const [repository, said] of refusals) {
      const error = await remotes.target(repository).catch((caught: unknown) => caught);
      expect(error, repository).toBeInstanceOf(GitRemoteRefusal);
      expect((error as Error).message, repository).toBe(said);
    }
    await expect(new GitRemotes().target('https://git.example.com/org/repo.git')).rejects.toThrow('there is no address policy here: only file:// repositories are reached');
    expect((await new GitRemotes().target('file:///srv/repo')).config).toEqual(allowOnly('file'));
  });

  it('answers an http(s) host it has a credential for through a helper that reads the environment, never the URL', async () => {
    const withCredential = new GitRemotes({
      addressPolicy: policy,
      lookup,
      credentials: { forHost: async (host) => (host === 'git.example.com:8443' ? { username: 'bot', password: 's3cret' } : undefined) },
    });
    const target = await withCredential.target('https://git.example.com:8443/org/repo.git');
    expect(target.url).toBe('https://git.example.com:8443/org/repo.git');
    expect(target.env).toMatchObject({ MOSAIC_FED_GIT_USERNAME: 'bot', MOSAIC_FED_GIT_PASSWORD: 's3cret' });
    expect(target.config.join(' ')).toContain('credential.helper= -c credential.helper=!f()');
    expect(target.config.join(' ')).not.toContain('s3cret');
  });
});
