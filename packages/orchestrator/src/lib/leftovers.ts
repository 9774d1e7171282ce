// Whose sandboxes an orchestrator may remove at start: its own (by its orchestrator id),
// and those of owners it is told are dead (a worker of this host whose process is gone),
// never another live owner's.
import { readdir, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Tells an owner id whose sandboxes are leftovers too: its process is known to be gone. */
export type DeadOwner = (orchestratorId: string) => boolean;

/** Option of every sandbox provider: see {@link DeadOwner}. */
export interface TakesOverDeadOwners {
  /**
   * Owners whose leftovers this orchestrator removes besides its own, such as a worker
   * of this host that died (its id names a process that is gone). Default: none.
   */
  deadOwner?: DeadOwner | undefined;
}

/**
 * Removes the sandboxes of `base` (this owner's folder) and of its dead siblings under the
 * same parent, one `removeOne` per sandbox folder; a dead owner's emptied folder goes too.
 * Answers how many sandboxes it removed.
 */
export async function removeLeftoverDirs(base: string, deadOwner: DeadOwner | undefined, removeOne: (dir: string) => Promise<void>): Promise<number> {
  const own = basename(base);
  const owners = deadOwner === undefined ? [own] : [own, ...(await readdir(dirname(base)).catch(() => [])).filter((name) => name !== own && deadOwner(name))];
  let removed = 0;
  for (const owner of owners) {
    const folder = join(dirname(base), owner);
    const entries = await readdir(folder).catch(() => []);
    for (const entry of entries) await removeOne(join(folder, entry));
    removed += entries.length;
    if (owner !== own) await rmdir(folder).catch(() => undefined);
  }
  return removed;
}

/** The owner id of a worker process: its host and pid, so a successor can tell it is gone. */
export function workerOwnerId(host = hostname(), pid = process.pid): string {
  return `worker-${host}-${pid}`;
}

/**
 * Whether `ownerId` names a worker of `host` (this machine by default) whose process is
 * gone. A pid that answers, however it came to, counts as alive: a reused pid keeps the
 * leftovers, it never loses a live worker its sandboxes.
 */
export function isDeadWorkerOwner(ownerId: string, host = hostname()): boolean {
  const prefix = `worker-${host}-`;
  if (!ownerId.startsWith(prefix)) return false;
  const pid = Number(ownerId.slice(prefix.length));
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
