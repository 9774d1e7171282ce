// A worker takes over the sandboxes a dead worker of its machine left, and never a live
// worker's: its id names its host and pid, and a pid that answers counts as alive.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SandboxProvider } from '../src/index.js';
import { BubblewrapSandboxProvider, isDeadWorkerOwner, ProcessSandboxProvider, workerOwnerId } from '../src/node.js';
import { inCI } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'mosaic-leftovers-'));
const source = mkdtempSync(join(work, 'source-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((done) => child.once('exit', done));
  return child.pid ?? 0;
}

describe('a worker and the sandboxes of other workers', () => {
  it('tells a dead worker of this host from a live one, a worker of another host, and itself', async () => {
    const live = spawn('sleep', ['30']);
    try {
      expect(isDeadWorkerOwner(workerOwnerId(undefined, await deadPid()))).toBe(true);
      expect(isDeadWorkerOwner(workerOwnerId(undefined, live.pid))).toBe(false);
      expect(isDeadWorkerOwner(workerOwnerId())).toBe(false);
      expect(isDeadWorkerOwner(workerOwnerId('another-host', await deadPid()))).toBe(false);
      expect(isDeadWorkerOwner('instance-0123456789ab')).toBe(false);
      expect(isDeadWorkerOwner(`${workerOwnerId(undefined, 1).slice(0, -1)}x`)).toBe(false);
    } finally {
      live.kill();
    }
  });

  const providers: { name: string; make: (id: string, takeOver: boolean) => SandboxProvider; available: () => Promise<boolean> }[] = [
    {
      name: 'process',
      make: (orchestratorId, takeOver) => new ProcessSandboxProvider({ orchestratorId, ...(takeOver ? { deadOwner: isDeadWorkerOwner } : {}) }),
      available: async () => true,
    },
    {
      name: 'bubblewrap',
      make: (orchestratorId, takeOver) => new BubblewrapSandboxProvider({ orchestratorId, ...(takeOver ? { deadOwner: isDeadWorkerOwner } : {}) }),
      available: () => new BubblewrapSandboxProvider().available(),
    },
  ];

  it.for(providers)('removes a dead worker\'s leftovers and keeps a live worker\'s ($name)', async ({ name, make, available }, context) => {
    if (!(await available())) {
      if (inCI) throw new Error(`CI needs the ${name} sandbox`);
      return context.skip();
    }
    const live = spawn('sleep', ['30']);
    try {
      const dead = make(workerOwnerId(undefined, await deadPid()), false);
      const alive = make(workerOwnerId(undefined, live.pid), false);
      const left = await dead.create({ agentId: crypto.randomUUID(), source });
      const running = await alive.create({ agentId: crypto.randomUUID(), source });
      const me = make(workerOwnerId(), true);
      // At least that one: other dead workers of this machine may have left some too.
      expect(await me.removeLeftovers?.()).toBeGreaterThanOrEqual(1);
      // The live worker's sandbox still works; the dead one's is gone.
      expect((await running.exec('echo still here', { timeoutMs: 10_000 })).stdout).toBe('still here\n');
      const gone = await left.exec('true', { timeoutMs: 10_000 }).then(
        (result) => result.exitCode,
        () => 'failed',
      );
      expect(gone).not.toBe(0);
      expect(await me.removeLeftovers?.()).toBe(0);
      await running.destroy();
      await left.destroy();
    } finally {
      live.kill();
    }
    expect(existsSync(source)).toBe(true);
  });
});
