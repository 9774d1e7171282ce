// Applies SQL migrations that drizzle-kit wrote, embedded in code, with drizzle's own
// ledger (`__drizzle_migrations`: a file's hash and its journal time), so drizzle-kit's
// tools read the same history. Embedded rather than read from a folder so the stores run
// where there is no file system (a Worker reaching a remote libSQL server). Written
// against the few methods of a libSQL client, or of a PostgreSQL pool, that they need, so
// core imports no driver.

/** One migration as drizzle's migrator reads it from its folder. */
export interface EmbeddedMigration {
  tag: string;
  /** The journal's `when`: migrations later than the last applied one are pending. */
  folderMillis: number;
  /** sha256 of the SQL file. */
  hash: string;
  /** Statements, split at drizzle-kit's breakpoints. */
  sql: readonly string[];
}

/** A statement with its arguments, as a libSQL client takes it. */
export interface MigrationStatement {
  sql: string;
  args: (string | number)[];
}

/** What {@link applyMigrations} needs of a libSQL `Client`. */
export interface MigrationClient {
  execute(statement: string | MigrationStatement): Promise<{ rows: ArrayLike<Record<string, unknown>> }>;
  batch(statements: (string | MigrationStatement)[], mode: 'write'): Promise<unknown>;
}

/** drizzle's ledger table. */
export const MIGRATION_LEDGER = '__drizzle_migrations';

/**
 * Applies every pending migration, each atomically with its ledger row, and answers the
 * tags it applied. Two processes starting together on one database are fine: the
 * loser's batch fails and rolls back, and it finds the migration applied when it looks
 * again.
 */
export async function applyMigrations(client: MigrationClient, migrations: readonly EmbeddedMigration[]): Promise<string[]> {
  const applied: string[] = [];
  let last = await lastAppliedMigration(client);
  for (const migration of migrations) {
    if (last >= migration.folderMillis) continue;
    try {
      await client.batch([...migration.sql.map((statement) => statement.trim()).filter(Boolean), migrationLedgerRow(migration)], 'write');
      applied.push(migration.tag);
      last = migration.folderMillis;
    } catch (error) {
      // Only another process, applying it first, is a reason to go on.
      last = await lastAppliedMigration(client);
      if (last < migration.folderMillis) throw error;
    }
  }
  return applied;
}

/** The journal time of the last migration the ledger records (made if missing); 0 for none. */
export async function lastAppliedMigration(client: MigrationClient): Promise<number> {
  await client.execute(`CREATE TABLE IF NOT EXISTS ${MIGRATION_LEDGER} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
  const { rows } = await client.execute(`SELECT created_at FROM ${MIGRATION_LEDGER} ORDER BY created_at DESC LIMIT 1`);
  const last = rows[0];
  return last === undefined ? 0 : Number(last.created_at);
}

/** Whether the database has a table of that name. */
export async function hasTable(client: MigrationClient, name: string): Promise<boolean> {
  const { rows } = await client.execute({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [name] });
  return rows.length > 0;
}

/** The ledger row that records `migration` as applied, for a batch of one's own. */
export function migrationLedgerRow(migration: EmbeddedMigration): MigrationStatement {
  return { sql: `INSERT INTO ${MIGRATION_LEDGER} (hash, created_at) VALUES (?, ?)`, args: [migration.hash, migration.folderMillis] };
}

/** What {@link applyPostgresMigrations} needs of one PostgreSQL connection (a `pg` pool's client). */
export interface PostgresMigrationConnection {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(): void;
}

/** What {@link applyPostgresMigrations} needs of a PostgreSQL pool (`pg`'s `Pool`). */
export interface PostgresMigrationPool {
  connect(): Promise<PostgresMigrationConnection>;
}

const LEDGER_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Applies every pending migration to a PostgreSQL database and answers their tags. All of
 * them go in one transaction holding an advisory lock named by the schema and the ledger,
 * so replicas starting together apply each once: the others wait, then find nothing
 * pending. PostgreSQL's DDL is transactional: a migration that fails leaves the database
 * as it was. Packages sharing one database keep a ledger each (`ledger`, drizzle's
 * `__drizzle_migrations` by default).
 */
export async function applyPostgresMigrations(pool: PostgresMigrationPool, migrations: readonly EmbeddedMigration[], ledger = MIGRATION_LEDGER): Promise<string[]> {
  if (!LEDGER_NAME.test(ledger)) throw new TypeError(`not a ledger table name: ${ledger}`);
  const connection = await pool.connect();
  try {
    await connection.query('BEGIN');
    try {
      await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || $1, 0))", [ledger]);
      await connection.query(`CREATE TABLE IF NOT EXISTS ${ledger} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
      const { rows } = await connection.query(`SELECT created_at FROM ${ledger} ORDER BY created_at DESC LIMIT 1`);
      const last = Number(rows[0]?.created_at ?? 0);
      const applied: string[] = [];
      for (const migration of migrations) {
        if (last >= migration.folderMillis) continue;
        for (const statement of migration.sql.map((text) => text.trim()).filter(Boolean)) await connection.query(statement);
        await connection.query(`INSERT INTO ${ledger} (hash, created_at) VALUES ($1, $2)`, [migration.hash, migration.folderMillis]);
        applied.push(migration.tag);
      }
      await connection.query('COMMIT');
      return applied;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    connection.release();
  }
}
