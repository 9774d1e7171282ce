// Shared helpers for the server's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { AgentStatusChangedPayload, AuditEntry } from '@mosaic-fed/core';
import { createLibsqlStores } from '../src/stores/libsql/index.js';
import { createPostgresStores as openPostgresStores } from '../src/stores/postgres/index.js';
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

/** The PostgreSQL the tests use: MOSAIC_FED_TEST_POSTGRES_URL, by default the local server's `test` database. */
export const TEST_POSTGRES_URL = process.env.MOSAIC_FED_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether a PostgreSQL server answers at {@link TEST_POSTGRES_URL}. On a laptop without one
 * the caller skips, saying why; in CI it is a failure.
 */
export async function testPostgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`CI needs PostgreSQL at ${TEST_POSTGRES_URL}`, { cause: error });
    console.warn(`skipping the PostgreSQL tests: no PostgreSQL at ${TEST_POSTGRES_URL}`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A schema of its own in the test database, as an empty database would be: a pool whose
 * connections see only it, and the way to drop it.
 */
export async function createPostgresSchema(): Promise<{ pool: pg.Pool; schema: string; url: string; drop: () => Promise<void> }> {
  const schema = `test_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = withSearchPath(TEST_POSTGRES_URL, schema);
  const pool = new pg.Pool({ connectionString: url });
  return {
    pool,
    schema,
    url,
    drop: async () => {
      await pool.end().catch(() => undefined);
      const cleaner = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await cleaner.connect();
      try {
        await cleaner.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await cleaner.end();
      }
    },
  };
}

/** `url` with its connections' search_path set to `schema` (libpq's `options`). */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
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
