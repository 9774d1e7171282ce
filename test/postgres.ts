// The PostgreSQL the tests of every package use: a real server, each test in a schema of
// its own (an empty database, as far as its connections can tell).
import pg from 'pg';

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
