// Copies a SQLite file's write-ahead log back into the file from a thread of its own.
// SQLite does it inside whichever commit first finds the log past `wal_autocheckpoint`
// pages: that commit then copies the pages and syncs the file on the event loop, and every
// request waits behind it (a status's p99 doubled with a 40 MB log; BENCHMARKS.md,
// 2026-12-08). Here a second connection, in a worker thread, runs a PASSIVE checkpoint
// each interval: it never blocks the writer, and the copying and syncing leave the event
// loop. The connection's own automatic checkpoint stays as the backstop should this
// thread fall behind or fail.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * What the worker runs: plain CommonJS, so it needs no file of its own beside the bundle.
 * It sets `closed` once its connection is closed (or could not be opened), so that whoever
 * stops it can wait for that.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const closed = new Int32Array(workerData.closed);
const done = () => {
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
};
let db;
let timer;
try {
  const Database = require(workerData.binding);
  db = new Database(workerData.path, { timeout: workerData.timeout });
  timer = setInterval(() => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Busy with another checkpoint, or the file away for a moment: the next turn tries
      // again, and the writer's automatic checkpoint is the backstop.
    }
  }, workerData.everyMs);
} catch (error) {
  done();
  throw error;
}
parentPort.once('message', () => {
  clearInterval(timer);
  try {
    db.close();
  } finally {
    done();
    parentPort.close();
  }
});
`;

/**
 * The longest {@link Checkpointer.stop} waits for the thread to close its connection: a
 * checkpoint under way ends first. Only a thread that died without saying so makes it wait
 * this long.
 */
const STOP_WAIT_MS = 5_000;

/** The `libsql` binding's entry, by absolute path: the worker's `require` resolves from the working directory. */
let binding: string | undefined;

export interface Checkpointer {
  /**
   * Stops the thread and returns once its connection is closed (after its checkpoint under
   * way, if any): from then on it touches no file, so the file can be moved or deleted. A
   * thread still starting would otherwise open the file, or make it anew, after its owner
   * closed it. Once: the worker heeds the first.
   */
  stop(): void;
}

/**
 * Starts checkpointing the file at `path` every `everyMs` from a worker thread, which does
 * not keep the process alive. A thread that cannot start or dies leaves the writer's
 * automatic checkpoint in charge, as without one.
 */
export function startCheckpointer(path: string, options: { everyMs: number; timeout: number }): Checkpointer {
  binding ??= createRequire(import.meta.url).resolve('libsql');
  const closed = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { binding, path, everyMs: options.everyMs, timeout: options.timeout, closed } });
  worker.unref();
  // Without a listener, a failed thread's error would end the process.
  worker.on('error', () => undefined);
  return {
    stop: () => {
      worker.postMessage('stop');
      // A synchronous wait, as the client's `close` that calls this is synchronous.
      Atomics.wait(new Int32Array(closed), 0, 0, STOP_WAIT_MS);
    },
  };
}
