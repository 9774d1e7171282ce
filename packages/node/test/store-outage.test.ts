// Issue 17, item 6: a store that is away for a while (here, the SQLite file locked by
// another process's writer) is a reason to retry, not an internal error: 503
// ORCHESTRATOR_UNAVAILABLE with Retry-After, nothing half-written, and service resumes.
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { describe, expect, it } from 'vitest';
import { destroyedAfterEachTest } from './peers.js';

const { peer } = destroyedAfterEachTest();

describe('a locked database', () => {
  it('answers 503 ORCHESTRATOR_UNAVAILABLE with Retry-After while the lock is held, and nothing changes', async () => {
    const spoke = await peer({ name: 'Locked Spoke' });
    const other = createClient({ url: `file:${join(spoke.dataDir, 'mosaic-fed.db')}` });
    // Another process's writer, in the middle of its transaction.
    const held = await other.transaction('write');
    try {
      await held.execute("UPDATE instance SET name = name");
      const response = await fetch(`${spoke.url}/api/v1/federation/instance`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${spoke.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'Renamed While Locked' }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      const body = (await response.json()) as { code: string; error: string };
      expect(body.code).toBe('ORCHESTRATOR_UNAVAILABLE');
      expect(body.error).not.toMatch(/SQLITE|\/tmp\//);
    } finally {
      await held.rollback();
      other.close();
    }
    expect((await spoke.api<{ name: string }>('/api/v1/federation/instance')).body.data.name).toBe('Locked Spoke');
    const renamed = await spoke.api<{ name: string }>('/api/v1/federation/instance', { method: 'PATCH', body: { name: 'Renamed After' } });
    expect(renamed, JSON.stringify(renamed.body)).toMatchObject({ status: 200, body: { data: { name: "Renamed After" } } });
  }, 30_000);
});
