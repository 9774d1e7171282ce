// Git credentials per host on a Node instance: set, listed and removed through the API,
// kept in a 0600 file of the data directory, and never shown: not in an answer, not in
// the audit log.
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminClient } from '@mosaic-fed/sdk';
import { describe, expect, it } from 'vitest';
import { destroyedAfterEachTest } from './peers.js';

const { peer } = destroyedAfterEachTest();
const SECRET = 'ghp_s3cr3t-t0ken-of-the-spoke';

describe('git credentials (Node instances)', () => {
  it('are set, listed and removed by admins, kept on the host only, and never shown', async () => {
    const spoke = await peer({ name: 'Spoke' });
    const admin = new AdminClient({ url: spoke.url, token: spoke.token });
    expect(await admin.gitCredentials()).toEqual([]);
    const stored = await admin.setGitCredential('GitHub.com', { username: 'x-access-token', password: SECRET });
    expect(stored).toEqual({ host: 'github.com', username: 'x-access-token', updatedAt: expect.any(String) });
    await admin.setGitCredential('git.example.com:8443', { username: 'bot', password: 'other' });
    expect((await admin.gitCredentials()).map((entry) => entry.host)).toEqual(['git.example.com:8443', 'github.com']);

    // The file: in the data directory, readable by its owner only, with the secret.
    const file = join(spoke.dataDir, 'git-credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(SECRET);
    // Nothing the API answers carries it, nor the audit log.
    const raw = await spoke.api('/api/v1/federation/git-credentials');
    expect(JSON.stringify(raw.body)).not.toContain(SECRET);
    const audit = await spoke.api<{ items: { action: string }[] }>('/api/v1/federation/audit?limit=100');
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);
    expect(audit.body.data.items.map((entry) => entry.action)).toContain('git-credential.set');

    await admin.deleteGitCredential('github.com');
    await expect(admin.deleteGitCredential('github.com')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await admin.gitCredentials()).map((entry) => entry.host)).toEqual(['git.example.com:8443']);
  });

  it('refuses what is not a host or a credential, and anyone without an admin token', async () => {
    const spoke = await peer({ name: 'Spoke' });
    const admin = new AdminClient({ url: spoke.url, token: spoke.token });
    await expect(admin.setGitCredential('https://github.com', { username: 'x', password: 'y' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(admin.setGitCredential('github.com', { username: 'a b', password: 'y' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(admin.setGitCredential('github.com', { username: 'x', password: 'two\nlines' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const anonymous = await fetch(`${spoke.url}/api/v1/federation/git-credentials/github.com`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'x', password: 'y' }),
    });
    expect(anonymous.status).toBe(401);
    expect(await admin.gitCredentials()).toEqual([]);
  });
});
