// Shared helpers for the server's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { Redis } from 'ioredis';
import type { AgentStatusChangedPayload, AuditEntry } from '@mosaic-fed/core';
import { createLibsqlStores } from '../src/stores/libsql/index.js';
import { createPostgresStores as openPostgresStores } from '../src/stores/postgres/index.js';
import { createPostgresSchema } from '../../../test/postgres.js';
import type { FederationStores } from '../src/stores/types.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export function createTempDir(prefix = 'mosaic-fed-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** libSQL stores on a real file in a temporary directory. */
export async function createFileStores(): Promise<{ stores: FederationStores; file: string; cleanup: () => Promise<void> }> {
  const dir = createTempDir();
  const file = join(dir.path, 'test.db');
  const stores = await createLibsqlStores(createClient({ url: `file:${file}` }));
  return {
    stores,
    file,
    cleanup: async () => {
      await stores.close?.();
      dir.remove();
    },
  };
}

/** PostgreSQL stores in a schema of their own in the test database. */
export async function createPostgresStores(): Promise<{ stores: FederationStores; cleanup: () => Promise<void> }> {
  const { pool, drop } = await createPostgresSchema();
  const stores = await openPostgresStores(pool);
  return {
    stores,
    cleanup: async () => {
      await stores.close?.();
      await drop();
    },
  };
}

/** A clock frozen at `start` that a test moves on by hand. */
export function createClock(start = new Date('2026-11-25T12:00:00Z')) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(seconds: number) {
      current += seconds * 1000;
    },
  };
}

let counter = 0;
export function auditEntry(action = 'test.action', overrides: Partial<AuditEntry> = {}): AuditEntry {
  counter++;
  return {
    id: crypto.randomUUID(),
    at: new Date(Date.UTC(2026, 10, 25, 12, 0, counter % 60)).toISOString(),
    actor: { type: 'system', id: 'test' },
    action,
    target: null,
    before: null,
    after: { n: counter },
    ...overrides,
  };
}

/** Everything in the audit log, newest first. */
export async function allAudit(stores: FederationStores): Promise<AuditEntry[]> {
  const items: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await stores.audit.list({ limit: 100, cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/**
 * A Redis client when a server answers at REDIS_URL (default 127.0.0.1:6379). On a laptop
 * without one it is undefined (the caller skips, saying why); in CI it is a failure.
 */
export async function connectTestRedis(): Promise<Redis | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    if (process.env.CI === 'true') throw new Error(`CI needs Redis at ${url}`, { cause: error });
    console.warn(`skipping the Valkey tests: no Redis at ${url}`);
    return undefined;
  }
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}

/** An `agent.status.changed` payload of a running agent, for event tests. */
export function agentStatusEvent(agentId: string, sequence: number): AgentStatusChangedPayload {
  return {
    agentId,
    taskId: 't',
    agentType: 'worker',
    status: 'running',
    attempt: 1,
    spawnedAt: '2026-11-25T12:00:00.000Z',
    startedAt: '2026-11-25T12:00:01.000Z',
    completedAt: null,
    progress: null,
    result: null,
    error: null,
    sequence,
  };
}
