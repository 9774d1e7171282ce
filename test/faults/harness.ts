// What the fault-injection suites share: real `mosaic-fed` processes on loopback ports
// (through the server tests' process helpers), a redis-server of their own, and waiting.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '@mosaic-fed/sdk';
import { freePort, runCli, startCli } from '../../packages/node/test/processes.js';

export { freePort };

/** A folder for one suite's data directories, removed at the end. */
export function workFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Retries `check` until it returns without throwing, or the time is up (then its last error). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An instance with a data directory and an admin token; `serve` starts one replica of it
 * (`port` 0 for any), which can be killed and started again.
 */
export async function instance(work: string, name: string, options: { url?: string; port?: number } = {}) {
  const port = options.port ?? (await freePort());
  const url = options.url ?? `http://127.0.0.1:${port}`;
  const dataDir = join(work, name);
  const created = runCli(['token', 'create', '--data-dir', dataDir, '--url', url], work);
  if (created.status !== 0) throw new Error(`token create failed: ${created.stderr}`);
  const token = created.stdout.trim().split('\n').at(-1) ?? '';
  const serve = (env: Record<string, string> = {}, listenOn = port) =>
    startCli(['serve', '--port', String(listenOn), '--data-dir', dataDir, '--url', url, '--name', name], work, { MOSAIC_FED_LOG_LEVEL: 'info', ...env }, 'listening');
  return { url, dataDir, admin: new AdminClient({ url, token }), serve, token };
}

/** A redis-server on `port` keeping an append-only file in `dir`: it can be killed and restarted on it. */
export async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const binary = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (binary === '') throw new Error('the fault-injection suite needs redis-server on the PATH');
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
  await eventually(() => {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') throw new Error('redis-server is not up yet');
  }, 20_000);
  return child;
}
