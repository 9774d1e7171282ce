import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, LibsqlBatchError, type Client, type ResultSet } from '@libsql/client';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { pathOfFileUrl } from '../src/sqlite-file.js';

// The Node entry's SQLite client, which keeps its statements prepared, against
// @libsql/client itself on the same real file: each statement must answer the same rows,
// values, counts and errors through both.
const dir = mkdtempSync(join(tmpdir(), 'mosaic-sqlite-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const SCHEMA = `
  CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, r REAL, b BLOB, j TEXT);
  CREATE TABLE u (x INTEGER);`;

/** Our client and @libsql/client, each on a file of its own with the same tables. */
async function both(): Promise<{ ours: Client; theirs: Client }> {
  const ours = await openDatabase(`file:${join(dir, `${String(++files)}.db`)}`);
  const theirs = createClient({ url: `file:${join(dir, `${String(++files)}.db`)}` });
  for (const client of [ours, theirs]) await client.executeMultiple(SCHEMA);
  return { ours, theirs };
}

/** What a result says, in plain values: rows by position and by name. */
function plain(result: ResultSet) {
  return {
    columns: result.columns,
    columnTypes: result.columnTypes,
    byPosition: result.rows.map((row) => Array.prototype.slice.call(row)),
    byName: result.rows.map((row) => ({ ...row })),
    keys: result.rows.map((row) => Object.keys(row)),
    json: JSON.stringify(result.rows),
    rowsAffected: result.rowsAffected,
    lastInsertRowid: result.lastInsertRowid,
  };
}

describe("the Node entry's SQLite file client", () => {
  it('answers every kind of statement as @libsql/client does: values, rows by position and name, counts', async () => {
    const { ours, theirs } = await both();
    const blob = new Uint8Array([0, 1, 2, 254, 255]);
    const statements = [
      { sql: 'INSERT INTO t (id, n, r, b, j) VALUES (?, ?, ?, ?, ?)', args: ['a', 9_007_199_254_740_991, 1.5, blob, '{"k":1}'] },
      { sql: 'INSERT INTO t (id, n, r, b, j) VALUES (:id, :n, NULL, NULL, $j)', args: { id: 'b', n: true, $j: null } },
      { sql: 'INSERT INTO t (id, n) VALUES (?, ?) RETURNING id, n', args: ['c', new Date(86_400_000)] },
      { sql: 'UPDATE t SET n = n + 1 WHERE id IN (?, ?)', args: ['b', 'c'] },
      { sql: 'SELECT id, n, r, b, j, id FROM t ORDER BY id', args: [] },
      { sql: 'SELECT count(*) AS count, max(n) AS top FROM t WHERE id > ?', args: ['a'] },
      { sql: 'SELECT * FROM t WHERE id = ?', args: ['none'] },
    ];
    for (const statement of statements) expect(plain(await ours.execute(statement))).toEqual(plain(await theirs.execute(statement)));
    const [row] = (await ours.execute("SELECT b FROM t WHERE id = 'a'")).rows;
    expect(new Uint8Array(row?.b as ArrayBuffer)).toEqual(blob);
    ours.close();
    theirs.close();
  });

  it("refuses what @libsql/client refuses, with the same codes, and keeps serving after", async () => {
    const { ours, theirs } = await both();
    for (const client of [ours, theirs]) {
      await client.execute("INSERT INTO t (id, n) VALUES ('x', 9007199254740993)");
      await expect(client.execute("INSERT INTO t (id) VALUES ('x')")).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      await expect(client.execute('SELEKT 1')).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
      await expect(client.execute('SELECT n FROM t')).rejects.toThrow(RangeError);
      await expect(client.execute({ sql: 'SELECT ?', args: [Number.NaN] })).rejects.toThrow(RangeError);
      await expect(client.execute({ sql: 'SELECT ?', args: [undefined as unknown as null] })).rejects.toThrow(TypeError);
    }
    expect((await ours.execute("SELECT id FROM t WHERE id = 'x'")).rows).toHaveLength(1);
    ours.close();
    theirs.close();
  });

  it('runs a batch as one transaction: all of it, or none of it with the failing index', async () => {
    const { ours } = await both();
    const results = await ours.batch(['INSERT INTO u VALUES (1)', { sql: 'INSERT INTO u VALUES (?)', args: [2] }, 'SELECT sum(x) AS total FROM u'], 'write');
    expect(results.map((result) => result.rowsAffected)).toEqual([1, 1, 0]);
    expect(results[2]?.rows[0]?.total).toBe(3);
    const failed = ours.batch(['INSERT INTO u VALUES (10)', "INSERT INTO t (id) VALUES ('p')", "INSERT INTO t (id) VALUES ('p')"]);
    await expect(failed).rejects.toBeInstanceOf(LibsqlBatchError);
    await expect(failed).rejects.toMatchObject({ statementIndex: 2, code: 'SQLITE_CONSTRAINT' });
    expect((await ours.execute('SELECT sum(x) AS total FROM u')).rows[0]?.total).toBe(3);
    expect((await ours.execute('SELECT count(*) AS c FROM t')).rows[0]?.c).toBe(0);
    ours.close();
  });

  it('holds the connection for an interactive transaction: other calls wait for its end, and see only what it committed', async () => {
    const { ours } = await both();
    const transaction = await ours.transaction('write');
    await transaction.execute('INSERT INTO u VALUES (5)');
    let read: number | undefined;
    const outside = ours.execute('SELECT count(*) AS c FROM u').then((result) => (read = result.rows[0]?.c as number));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read).toBeUndefined();
    await transaction.rollback();
    await outside;
    expect(read).toBe(0);
    expect(transaction.closed).toBe(true);
    await expect(transaction.execute('SELECT 1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    const kept = await ours.transaction();
    await kept.batch(['INSERT INTO u VALUES (6)', 'INSERT INTO u VALUES (7)']);
    await kept.commit();
    expect((await ours.execute('SELECT sum(x) AS s FROM u')).rows[0]?.s).toBe(13);
    ours.close();
    await expect(ours.execute('SELECT 1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('sets its pragmas again on a new connection, and its prepared statements still answer after one', async () => {
    const { ours } = await both();
    await ours.execute('INSERT INTO u VALUES (1)');
    ours.reconnect();
    expect((await ours.execute('PRAGMA journal_mode')).rows[0]?.journal_mode).toBe('wal');
    expect((await ours.execute('PRAGMA synchronous')).rows[0]?.synchronous).toBe(1);
    expect((await ours.execute('PRAGMA wal_autocheckpoint')).rows[0]?.wal_autocheckpoint).toBe(10_000);
    expect((await ours.execute('SELECT count(*) AS c FROM u')).rows[0]?.c).toBe(1);
    ours.close();
  });

  it('answers the rest of the Client as @libsql/client does: argument kinds, JSON, tuples, read transactions, migrations', async () => {
    const { ours, theirs } = await both();
    for (const client of [ours, theirs]) {
      await client.executeMultiple('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id)); PRAGMA foreign_keys = on;');
    }
    const blob = new Uint8Array([7, 8, 9]).buffer;
    const statements = [
      { sql: 'INSERT INTO t (id, n, b) VALUES (?, ?, ?)', args: ['big', 2n ** 52n, blob] },
      { sql: 'INSERT INTO t (id, n, b) VALUES (?, ?, ?)', args: ['flag', false, null] },
      { sql: 'SELECT id, n, b FROM t ORDER BY id', args: [] },
    ];
    for (const statement of statements) {
      // toJSON: bigints as strings, blobs as base64, the insert's row id as a string.
      expect(JSON.stringify(await ours.execute(statement))).toBe(JSON.stringify(await theirs.execute(statement)));
    }
    for (const client of [ours, theirs]) {
      await expect(client.execute({ sql: 'SELECT ?', args: [2n ** 63n] })).rejects.toThrow(RangeError);
      const [tuple] = await client.batch([['INSERT INTO u VALUES (?)', [41]]]);
      expect(tuple?.rowsAffected).toBe(1);

      // A read transaction (BEGIN TRANSACTION READONLY, libSQL's words, which the
      // binding takes) reads what was committed.
      const reading = await client.transaction('read');
      expect((await reading.execute('SELECT sum(x) AS s FROM u')).rows[0]?.s).toBe(41);
      await reading.commit();

      // A migration runs with foreign keys off (a table rebuilt leaves them dangling a
      // moment), and turns them back on after.
      await client.migrate([{ sql: 'INSERT INTO child VALUES (?)', args: [99] }]);
      expect((await client.execute('SELECT count(*) AS c FROM child')).rows[0]?.c).toBe(1);
      expect((await client.execute('PRAGMA foreign_keys')).rows[0]?.foreign_keys).toBe(1);
      await expect(client.execute('INSERT INTO child VALUES (98)')).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });

      // An interactive transaction's script, and one closed without a commit: rolled back.
      const script = await client.transaction('write');
      await script.executeMultiple('INSERT INTO u VALUES (1); INSERT INTO u VALUES (2);');
      script.close();
      expect((await client.execute('SELECT sum(x) AS s FROM u')).rows[0]?.s).toBe(41);
    }
    ours.close();
    theirs.close();
  });

  it('copies its write-ahead log back into the file from a thread of its own, which stops with the client', async () => {
    const path = join(dir, 'checkpointed.db');
    const client = await openDatabase(`file:${path}`);
    await client.execute('CREATE TABLE big (b BLOB)');
    const sizeOf = async () => Number((await client.execute('SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()')).rows[0]?.size);
    // 8 MB: about 2,000 pages, under the connection's own checkpoint at 10,000. They are in
    // the log, not the file, until a checkpoint copies them.
    await client.batch(Array.from({ length: 16 }, () => ({ sql: 'INSERT INTO big VALUES (zeroblob(524288))', args: [] })));
    const fileBytes = () => statSync(path).size;
    expect(fileBytes()).toBeLessThan(1_000_000);
    expect(await sizeOf()).toBeGreaterThan(8_000_000);
    // Within a second or two, the thread has copied them: the file holds them.
    for (let tries = 0; tries < 50 && fileBytes() < 8_000_000; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fileBytes()).toBeGreaterThan(8_000_000);
    client.close();
    // Stopped with the client: what is written afterwards through another connection stays in the log.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const other = createClient({ url: `file:${path}` });
    await other.execute('PRAGMA wal_autocheckpoint = 0');
    await other.execute('INSERT INTO big VALUES (zeroblob(4194304))');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(fileBytes()).toBeLessThan(10_000_000);
    other.close();
  });

  it('touches no file once the client is closed, though its thread had only begun to start', async () => {
    const folder = mkdtempSync(join(dir, 'closed-'));
    for (let round = 0; round < 3; round++) {
      const client = await openDatabase(`file:${join(folder, `${String(round)}.db`)}`);
      client.close();
      // Gone at once, as a test's teardown or an operator's cleanup does it.
      for (const name of readdirSync(folder)) rmSync(join(folder, name));
    }
    // Past the threads' start and their first checkpoint: none opened or made a file anew.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses a file it cannot open at once, with the error @libsql/client throws then', async () => {
    const path = join(dir, 'no-such-folder', 'x.db');
    const said = `Unable to open connection to local database ${path}`;
    await expect(openDatabase(`file:${path}`)).rejects.toThrow(said);
    expect(() => createClient({ url: `file:${path}` })).toThrow(said);
  });

  it('keeps a bounded number of statements prepared, and answers the same once one is let go', async () => {
    const { ours } = await both();
    await ours.execute('INSERT INTO u VALUES (3)');
    const first = 'SELECT x FROM u';
    expect((await ours.execute(first)).rows[0]?.x).toBe(3);
    // More distinct statements than it keeps: the first is let go, and prepared again.
    for (let index = 0; index < 300; index++) expect((await ours.execute(`SELECT ${String(index)} AS v`)).rows[0]?.v).toBe(index);
    await ours.execute('UPDATE u SET x = 4');
    expect((await ours.execute(first)).rows[0]?.x).toBe(4);
    ours.close();
  });

  it('takes the file of a file: URL, relative or absolute, and nothing else', () => {
    expect(pathOfFileUrl('file:data/x.db')).toBe('data/x.db');
    expect(pathOfFileUrl('file:/srv/x.db')).toBe('/srv/x.db');
    expect(pathOfFileUrl('file:///srv/x.db')).toBe('/srv/x.db');
    expect(() => pathOfFileUrl('libsql://db.example.com')).toThrow(TypeError);
    expect(() => pathOfFileUrl('file:x.db?mode=ro')).toThrow(TypeError);
  });
});
