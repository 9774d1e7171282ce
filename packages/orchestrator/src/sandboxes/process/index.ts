// ProcessSandbox (`unsafe-process`): a temporary directory and child processes with a
// scrubbed environment. It isolates nothing: the agent's commands run as this user, with
// its network and file system access, and can read this machine's secrets. For one's own
// experiments only; never chosen by default for peers. A read-only workspace is only
// refused to the editor: the agent's own commands can still write.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentLogger, type Logger } from '@mosaic-fed/core';
import { removeLeftoverDirs, type TakesOverDeadOwners } from '../../lib/leftovers.js';
import { ClippedText, DEFAULT_OUTPUT_LIMIT, resolveInside } from '../../lib/output.js';
import type { CreateSandboxOptions, ExecOptions, ExecResult, Sandbox, SandboxProvider } from '../types.js';

export interface ProcessSandboxOptions extends TakesOverDeadOwners {
  /**
   * Where this orchestrator's sandboxes are made; leftovers are looked for here only.
   * Default: `mosaic-fed-sandboxes/<orchestratorId>` in the system's temp directory.
   */
  root?: string;
  /** Names this orchestrator's sandboxes, as for the Docker sandbox. Default `default`. */
  orchestratorId?: string;
  /** Characters of output kept per command. Default 30,000. */
  outputLimit?: number;
  /** Variables the commands see, besides a minimal PATH, HOME and LANG. Never put secrets here. */
  env?: Record<string, string>;
  logger?: Logger;
}

/**
 * How a sandbox's folder is removed: a process group just sent SIGKILL can still write
 * for a moment, so a folder that fills again while it is emptied is tried again.
 */
const REMOVE_TREE = { recursive: true, force: true, maxRetries: 5, retryDelay: 50 } as const;

/** Each sandbox's record of the process groups it started, for finding leftovers. */
const PIDS_FILE = 'pids';

/** The only variables a command inherits: no tokens, keys or credentials from this process. */
function scrubbedEnv(home: string, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: home,
    ...extra,
  };
}

export class ProcessSandboxProvider implements SandboxProvider {
  readonly name = 'process';
  readonly #options: ProcessSandboxOptions;
  #warned = false;

  constructor(options: ProcessSandboxOptions = {}) {
    this.#options = options;
  }

  get #base(): string {
    return this.#options.root ?? join(tmpdir(), 'mosaic-fed-sandboxes', this.#options.orchestratorId ?? 'default');
  }

  /**
   * Stops the commands of sandboxes an earlier process left behind (each sandbox keeps
   * the process groups it started) and removes their directories.
   */
  async removeLeftovers(): Promise<number> {
    return removeLeftoverDirs(this.#base, this.#options.root === undefined ? this.#options.deadOwner : undefined, async (root) => {
      const pids = (await readFile(join(root, PIDS_FILE), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        // Only a process that still carries this sandbox's HOME: a reused pid is left alone.
        const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
        if (environ.split('\0').includes(`HOME=${join(root, 'home')}`)) killProcessGroup(pid);
      }
      await rm(root, REMOVE_TREE);
    });
  }

  async create({ agentId, source, readOnly }: CreateSandboxOptions): Promise<Sandbox> {
    if (!this.#warned) {
      this.#warned = true;
      (this.#options.logger ?? silentLogger).warn(
        'agents run in the unsafe-process sandbox: child processes of this user, with no isolation at all',
      );
    }
    await mkdir(this.#base, { recursive: true });
    const root = await mkdtemp(join(this.#base, `${agentId.slice(0, 8)}-`));
    const workdir = join(root, 'repo');
    const home = join(root, 'home');
    await mkdir(home);
    await cp(source, workdir, { recursive: true });
    return new ProcessSandbox(root, workdir, scrubbedEnv(home, this.#options.env ?? {}), this.#options.outputLimit ?? DEFAULT_OUTPUT_LIMIT, readOnly === true);
  }
}

class ProcessSandbox implements Sandbox {
  readonly isolation = 'process' as const;
  readonly workdir: string;
  readonly #root: string;
  readonly #env: Record<string, string>;
  readonly #outputLimit: number;
  readonly #children = new Set<number>();
  readonly #readOnly: boolean;
  #destroyed = false;

  constructor(root: string, workdir: string, env: Record<string, string>, outputLimit: number, readOnly: boolean) {
    this.#root = root;
    this.workdir = workdir;
    this.#env = env;
    this.#outputLimit = outputLimit;
    this.#readOnly = readOnly;
  }

  exec(command: string, options: ExecOptions): Promise<ExecResult> {
    if (this.#destroyed) return Promise.reject(new Error('the sandbox is gone'));
    return new Promise((resolve, reject) => {
      // Its own process group, so a kill reaches everything the command started.
      const child = spawn('sh', ['-c', command], { cwd: this.workdir, env: this.#env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout = new ClippedText(this.#outputLimit);
      const stderr = new ClippedText(this.#outputLimit);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
      let timedOut = false;
      const killGroup = () => {
        if (child.pid !== undefined) killProcessGroup(child.pid);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, options.timeoutMs);
      options.signal?.addEventListener('abort', killGroup, { once: true });
      if (child.pid !== undefined) {
        this.#children.add(child.pid);
        // Synchronously: a process killed right after the spawn still leaves the record.
        appendFileSync(join(this.#root, PIDS_FILE), `${child.pid}\n`);
      }
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', killGroup);
        if (child.pid !== undefined) this.#children.delete(child.pid);
        if (options.signal?.aborted === true) return reject(options.signal.reason);
        resolve({ exitCode: code ?? (signal === null ? 1 : 128 + 9), stdout: stdout.toString(), stderr: stderr.toString(), timedOut });
      });
    });
  }

  async readFile(path: string): Promise<string> {
    try {
      return await readFile(resolveInside(this.workdir, path), 'utf8');
    } catch (error) {
      // The model sees this: say what is wrong without the host's paths.
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') throw new Error(`${path} does not exist`, { cause: error });
      if (code === 'EISDIR') throw new Error(`${path} is a directory`, { cause: error });
      throw error;
    }
  }

  async writeFile(path: string, content: string): Promise<void> {
    if (this.#readOnly) throw new Error('this agent works on a read-only copy: it cannot change files');
    const target = resolveInside(this.workdir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }

  async exportTo(hostDir: string): Promise<void> {
    await cp(this.workdir, hostDir, { recursive: true });
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    for (const pid of this.#children) killProcessGroup(pid);
    this.#children.clear();
    await rm(this.#root, REMOVE_TREE);
  }
}

function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
