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

/** What the worker runs: plain CommonJS, so it needs no file of its own beside the bundle. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.binding);
const db = new Database(workerData.path, { timeout: workerData.timeout });
const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy with another checkpoint, or the file away for a moment: the next turn tries
    // again, and the writer's automatic checkpoint is the backstop.
  }
}, workerData.everyMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The `libsql` binding's entry, by absolute path: the worker's `require` resolves from the working directory. */
let binding: string | undefined;

export interface Checkpointer {
  /** Stops the thread, after its checkpoint under way if any. Once: the worker heeds the first. */
  stop(): void;
}

/**
 * Starts checkpointing the file at `path` every `everyMs` from a worker thread, which does
 * not keep the process alive. A thread that cannot start or dies leaves the writer's
 * automatic checkpoint in charge, as without one.
 */
export function startCheckpointer(path: string, options: { everyMs: number; timeout: number }): Checkpointer {
  binding ??= createRequire(import.meta.url).resolve('libsql');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { binding, path, everyMs: options.everyMs, timeout: options.timeout } });
  worker.unref();
  // Without a listener, a failed thread's error would end the process.
  worker.on('error', () => undefined);
  return { stop: () => worker.postMessage('stop') };
}
