// A SQLite file as a libSQL `Client`, on the same binding @libsql/client runs on (`libsql`),
// whose statements stay prepared. @libsql/client prepares every statement again on each
// call, asks it for its columns twice, and learns that a write returns no rows from an
// exception; on the paths every message takes, that was more than SQLite's own work
// (BENCHMARKS.md). Results are what @libsql/client gives: the same rows, numbers, errors.
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { LibsqlBatchError, LibsqlError, type Client, type InArgs, type InStatement, type InValue, type ResultSet, type Row, type Transaction, type TransactionMode, type Value } from '@libsql/client';
import Database from 'libsql';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';

/** How many distinct statements stay prepared; past that, the longest kept goes first. */
const KEPT_STATEMENTS = 256;

type Statement = ReturnType<Database.Database['prepare']>;

/** A prepared statement with what it answers, learnt once. */
interface Kept {
  statement: Statement;
  /** Its columns, for a statement that returns rows; `undefined` for one that does not. */
  columns: string[] | undefined;
  columnTypes: string[];
  /** Rows of this statement take their numbered values from here. */
  rowPrototype: object;
}

const VALUES = Symbol('values');
interface RowValues {
  [VALUES]: Value[];
}

/** The path of a `file:` URL: `file:relative/path.db`, `file:/absolute.db` or `file:///absolute.db`. */
export function pathOfFileUrl(url: string): string {
  if (!url.startsWith('file:')) throw new TypeError(`not a file: URL: ${url}`);
  const path = url.startsWith('file://') ? fileURLToPath(url) : url.slice('file:'.length);
  if (path === '' || path.includes('?')) throw new TypeError(`a file: URL names a file, without options: ${url}`);
  return path;
}

export interface SqliteFileOptions {
  /** How long a write waits for another writer's lock, in milliseconds. */
  timeout: number;
  /** Run on each connection as it opens (a reconnect opens a new one): `PRAGMA`s, say. */
  onOpen?: readonly string[];
  /**
   * Checkpoints the write-ahead log from a worker thread this often, in milliseconds, so
   * commits on this connection seldom do (`checkpointer.ts`). Left out: SQLite's own.
   */
  checkpointEveryMs?: number;
}

/** Opens the SQLite file at `path` as a libSQL `Client` with one connection. */
export function openSqliteFile(path: string, options: SqliteFileOptions): Client {
  return new SqliteFileClient(path, options);
}

class SqliteFileClient implements Client {
  readonly protocol = 'file';
  closed = false;
  #db: Database.Database;
  readonly #kept = new Map<string, Kept>();
  /** An interactive transaction holds the connection until it ends: others wait for it. */
  #held: Promise<void> | undefined;
  readonly #path: string;
  readonly #options: SqliteFileOptions;
  readonly #checkpointer: Checkpointer | undefined;

  constructor(path: string, options: SqliteFileOptions) {
    this.#path = path;
    this.#options = options;
    this.#db = this.#open();
    this.#checkpointer = options.checkpointEveryMs === undefined ? undefined : startCheckpointer(path, { everyMs: options.checkpointEveryMs, timeout: options.timeout });
  }

  #open(): Database.Database {
    try {
      const db = new Database(this.#path, { timeout: this.#options.timeout });
      // Fails now, not at the first statement, when the file cannot be opened.
      for (const sql of this.#options.onOpen ?? ['SELECT 1']) db.exec(sql);
      return db;
    } catch (error) {
      throw libsqlErrorOf(error);
    }
  }

  async execute(statement: InStatement, args?: InArgs): Promise<ResultSet> {
    await this.#free();
    return this.#run(typeof statement === 'string' ? { sql: statement, args: args ?? [] } : statement);
  }

  async batch(statements: (InStatement | [string, InArgs?])[], mode: TransactionMode = 'deferred'): Promise<ResultSet[]> {
    await this.#free();
    return this.#inTransaction(statements.map(normalized), mode);
  }

  async migrate(statements: InStatement[]): Promise<ResultSet[]> {
    await this.#free();
    this.#run('PRAGMA foreign_keys = off');
    try {
      return this.#inTransaction(statements, 'deferred');
    } finally {
      this.#run('PRAGMA foreign_keys = on');
    }
  }

  async transaction(mode: TransactionMode = 'write'): Promise<Transaction> {
    await this.#free();
    this.#run(beginOf(mode));
    let release: () => void = () => undefined;
    this.#held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const end = (commit: boolean) => {
      if (transaction.closed) return;
      transaction.closed = true;
      try {
        if (commit) this.#run('COMMIT');
      } finally {
        // Rolled back unless committed, whatever the commit met; then the others' turn.
        if (this.#db.inTransaction) this.#run('ROLLBACK');
        this.#held = undefined;
        release();
      }
    };
    const transaction: Transaction = {
      closed: false,
      execute: async (statement) => {
        this.#checkOpen(transaction.closed);
        return this.#run(statement);
      },
      batch: async (statements) => {
        this.#checkOpen(transaction.closed);
        return statements.map((statement, index) => this.#inBatch(statement, index));
      },
      executeMultiple: async (sql) => {
        this.#checkOpen(transaction.closed);
        this.#exec(sql);
      },
      commit: async () => end(true),
      rollback: async () => end(false),
      close: () => end(false),
    };
    return transaction;
  }

  async executeMultiple(sql: string): Promise<void> {
    await this.#free();
    this.#exec(sql);
  }

  async sync(): Promise<undefined> {
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#checkpointer?.stop();
    this.#kept.clear();
    this.#db.close();
  }

  /** A new connection: statements prepared on the old one are forgotten with it. */
  reconnect(): void {
    this.#kept.clear();
    try {
      this.#db.close();
    } finally {
      this.#db = this.#open();
      this.closed = false;
    }
  }

  /** Waits while an interactive transaction holds the connection. */
  async #free(): Promise<void> {
    this.#checkOpen(this.closed);
    while (this.#held !== undefined) await this.#held;
  }

  #checkOpen(closed: boolean): void {
    if (closed) throw new LibsqlError('the client is closed', 'CLIENT_CLOSED');
  }

  /** The statements in one transaction, rolled back whole if one fails. */
  #inTransaction(statements: InStatement[], mode: TransactionMode): ResultSet[] {
    this.#run(beginOf(mode));
    try {
      const results = statements.map((statement, index) => this.#inBatch(statement, index));
      this.#run('COMMIT');
      return results;
    } finally {
      if (this.#db.inTransaction) this.#run('ROLLBACK');
    }
  }

  #inBatch(statement: InStatement, index: number): ResultSet {
    try {
      return this.#run(statement);
    } catch (error) {
      if (error instanceof LibsqlError) throw new LibsqlBatchError(error.message, index, error.code, error.extendedCode, error.rawCode, error);
      throw error;
    }
  }

  #exec(sql: string): void {
    try {
      this.#db.exec(sql);
    } catch (error) {
      throw libsqlErrorOf(error);
    }
  }

  #run(statement: InStatement): ResultSet {
    const { sql, args = [] } = typeof statement === 'string' ? { sql: statement } : statement;
    const kept = this.#prepared(sql);
    const values = Array.isArray(args) ? args.map(toSql) : namedToSql(args);
    try {
      if (kept.columns === undefined) {
        const info = kept.statement.run(values);
        return new StatementResult([], [], [], info.changes, BigInt(info.lastInsertRowid));
      }
      const { columns, rowPrototype } = kept;
      const rows = (kept.statement.all(values) as unknown[][]).map((raw) => rowOf(raw, columns, rowPrototype));
      return new StatementResult(columns, kept.columnTypes, rows, 0, undefined);
    } catch (error) {
      // A statement that failed may be left mid-step: prepare it afresh next time.
      this.#kept.delete(sql);
      throw libsqlErrorOf(error);
    }
  }

  #prepared(sql: string): Kept {
    const found = this.#kept.get(sql);
    if (found !== undefined) return found;
    let statement: Statement;
    try {
      statement = this.#db.prepare(sql);
    } catch (error) {
      throw libsqlErrorOf(error);
    }
    statement.safeIntegers(true);
    const kept: Kept = statement.reader
      ? (() => {
          statement.raw(true);
          const definitions = statement.columns();
          const columns = definitions.map((column) => column.name);
          return { statement, columns, columnTypes: definitions.map((column) => column.type ?? ''), rowPrototype: rowPrototypeOf(columns.length) };
        })()
      : { statement, columns: undefined, columnTypes: [], rowPrototype: {} };
    if (this.#kept.size >= KEPT_STATEMENTS) {
      const [oldest] = this.#kept.keys();
      if (oldest !== undefined) this.#kept.delete(oldest);
    }
    this.#kept.set(sql, kept);
    return kept;
  }
}

class StatementResult implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  toJSON() {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((row) => Array.from({ length: row.length }, (_, index) => jsonValue(row[index] ?? null))),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid === undefined ? null : String(this.lastInsertRowid),
    };
  }
}

function jsonValue(value: Value): unknown {
  if (typeof value === 'bigint') return String(value);
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64');
  return value;
}

/**
 * What every row of a statement inherits: `length` and its values by position, read from
 * the row's own values. Only the column names are the row's own (enumerable) properties,
 * as in @libsql/client, so a row spread or serialized has its named values only.
 */
function rowPrototypeOf(width: number): object {
  const prototype = {};
  Object.defineProperty(prototype, 'length', { value: width });
  for (let index = 0; index < width; index++) {
    Object.defineProperty(prototype, index, {
      get(this: RowValues) {
        return this[VALUES][index];
      },
    });
  }
  return prototype;
}

function rowOf(raw: unknown[], columns: readonly string[], prototype: object): Row {
  const values = raw.map(fromSql);
  const row = Object.create(prototype) as Row & RowValues;
  Object.defineProperty(row, VALUES, { value: values });
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index] as string;
    // The first of two columns of one name is the one its name gives.
    if (!Object.hasOwn(row, column)) row[column] = values[index] ?? null;
  }
  return row;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fromSql(value: unknown): Value {
  if (typeof value === 'bigint') {
    if (value < MIN_SAFE || value > MAX_SAFE) throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
    return Number(value);
  }
  if (value instanceof Buffer) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  return value as Value;
}

const MIN_INTEGER = -(2n ** 63n);
const MAX_INTEGER = 2n ** 63n - 1n;

function toSql(value: InValue): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments');
      return value;
    case 'bigint':
      if (value < MIN_INTEGER || value > MAX_INTEGER) throw new RangeError('bigint is too large to be represented as a 64-bit integer and passed as argument');
      return value;
    case 'boolean':
      return value ? 1 : 0;
    case 'undefined':
      throw new TypeError('undefined cannot be passed as argument to the database');
    default:
      if (value instanceof ArrayBuffer) return Buffer.from(value);
      if (value instanceof Date) return value.valueOf();
      return value;
  }
}

function namedToSql(args: Record<string, InValue>): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) named[/^[@$:]/.test(name) ? name.slice(1) : name] = toSql(value);
  return named;
}

function normalized(statement: InStatement | [string, InArgs?]): InStatement {
  return Array.isArray(statement) ? { sql: statement[0], args: statement[1] ?? [] } : statement;
}

function beginOf(mode: TransactionMode): string {
  if (mode === 'write') return 'BEGIN IMMEDIATE';
  if (mode === 'read') return 'BEGIN TRANSACTION READONLY';
  return 'BEGIN DEFERRED';
}

/** SQLite's base result codes by number, for the `code` @libsql/client gives. */
const BASE_CODES = [
  'SQLITE_OK', 'SQLITE_ERROR', 'SQLITE_INTERNAL', 'SQLITE_PERM', 'SQLITE_ABORT', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_NOMEM',
  'SQLITE_READONLY', 'SQLITE_INTERRUPT', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTFOUND', 'SQLITE_FULL', 'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL', 'SQLITE_EMPTY', 'SQLITE_SCHEMA', 'SQLITE_TOOBIG', 'SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_MISUSE',
  'SQLITE_NOLFS', 'SQLITE_AUTH', 'SQLITE_FORMAT', 'SQLITE_RANGE', 'SQLITE_NOTADB', 'SQLITE_NOTICE', 'SQLITE_WARNING',
];

/** The binding's error as @libsql/client reports it: the base code, the extended one, the number. */
function libsqlErrorOf(error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const { rawCode } = error;
  const code = rawCode === undefined ? 'SQLITE_UNKNOWN' : (BASE_CODES[rawCode & 0xff] ?? `SQLITE_UNKNOWN_${String(rawCode & 0xff)}`);
  return new LibsqlError(error.message, code, error.code, rawCode, error);
}
