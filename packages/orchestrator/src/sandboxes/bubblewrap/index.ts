// BubblewrapSandbox: each command in fresh Linux namespaces through `bwrap` (Debian's
// bubblewrap, the sandbox Flatpak uses): new user, pid, ipc, uts, cgroup and network
// namespaces (only a loopback of its own, where an agent with egress rules finds its egress
// gate: sandboxes/egress.ts), every capability dropped, a cleared
// environment, a read-only view of /usr, a fresh /proc and /dev, a size-capped /tmp, and
// the workspace (writable, or read-only) as the only host directory it sees. No data
// directory, no socket but the agent's own egress gate, no host file outside /usr.
//
// Run as root, each sandbox gets a host uid of its own, so its process limit counts its
// processes only, and its workspace is a size-capped tmpfs: a fork bomb or a disk fill
// stays inside. Run as another user, the commands run as that user and these two limits
// are weaker (the start-up log says so).
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { chmod, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { silentLogger, type Logger } from '@mosaic-fed/core';
import { AgentFailure } from '../../lib/failure.js';
import { removeLeftoverDirs, type TakesOverDeadOwners } from '../../lib/leftovers.js';
import { ClippedText, DEFAULT_OUTPUT_LIMIT, resolveInside } from '../../lib/output.js';
import { egressEnvironment, forwarderAvailable, forwarderPrelude, type SandboxEgress } from '../egress.js';
import type { CreateSandboxOptions, ExecOptions, ExecResult, Sandbox, SandboxProvider } from '../types.js';

export interface BubblewrapSandboxOptions extends TakesOverDeadOwners {
  /**
   * Where this orchestrator's sandboxes are made; leftovers are looked for here only. Run
   * as root, the sandboxes' own host uids must be able to pass through it and every
   * directory above it (mode 0711 is enough; nobody can list it). Default:
   * `mosaic-fed-bwrap/<orchestratorId>` in the system's temp directory, made so.
   */
  root?: string;
  /** Names this orchestrator's sandboxes. Default `default`. */
  orchestratorId?: string;
  /** The bubblewrap executable. Default `bwrap` on the PATH. */
  bwrap?: string;
  /** Processes at once, per sandbox. Default 256. */
  maxProcesses?: number;
  /** Largest file a command may write, in bytes. Default 1 GiB. */
  maxFileBytes?: number;
  /** Address space per process, in bytes. Default 8 GiB. */
  addressSpaceBytes?: number;
  /** Size of the workspace (a tmpfs, when run as root). Default 1 GiB. */
  workspaceBytes?: number;
  /** Size of /tmp inside. Default 256 MiB. */
  tmpBytes?: number;
  /** Characters of output kept per command. Default 30,000. */
  outputLimit?: number;
  logger?: Logger;
}

const WORKDIR = '/workspace';
/** Where the egress gate's socket appears inside. */
const EGRESS_SOCKET = '/run/mosaic-fed/egress.sock';
const SANDBOX_UID = 1000;
/** Host uids of sandboxes, when run as root: one per sandbox, far from real accounts. */
const HOST_UID_BASE = 300_000;
const HOST_UID_RANGE = 100_000;
const MAX_READ_BYTES = 1024 * 1024;

interface Limits {
  maxProcesses: number;
  maxFileBytes: number;
  addressSpaceBytes: number;
  workspaceBytes: number;
  tmpBytes: number;
}

export class BubblewrapSandboxProvider implements SandboxProvider {
  readonly name = 'bubblewrap';
  readonly #o: BubblewrapSandboxOptions;
  readonly #limits: Limits;
  readonly #hostUids = new Set<number>();
  #warned = false;

  constructor(options: BubblewrapSandboxOptions = {}) {
    this.#o = options;
    this.#limits = {
      maxProcesses: options.maxProcesses ?? 256,
      maxFileBytes: options.maxFileBytes ?? 1024 ** 3,
      addressSpaceBytes: options.addressSpaceBytes ?? 8 * 1024 ** 3,
      workspaceBytes: options.workspaceBytes ?? 1024 ** 3,
      tmpBytes: options.tmpBytes ?? 256 * 1024 ** 2,
    };
  }

  get #base(): string {
    return this.#o.root ?? join(tmpdir(), 'mosaic-fed-bwrap', this.#o.orchestratorId ?? 'default');
  }

  /** Makes the base directory, passable (not listable) by the sandboxes' host uids. */
  async #makeBase(): Promise<void> {
    const dirs = this.#o.root === undefined ? [join(tmpdir(), 'mosaic-fed-bwrap'), this.#base] : [this.#base];
    for (const dir of dirs) {
      await mkdir(dir, { recursive: true, mode: 0o711 });
      await chmod(dir, 0o711);
    }
  }

  /** True when bubblewrap runs here (installed, and namespaces allowed); for choosing a sandbox at start. */
  async available(): Promise<boolean> {
    try {
      const { exitCode } = await runCommand(this.#o.bwrap ?? 'bwrap', [...namespaceArgs(this.#limits), '--', '/bin/sh', '-c', 'exit 0'], {
        timeoutMs: 10_000,
      });
      return exitCode === 0;
    } catch {
      return false;
    }
  }

  async create({ agentId, source, readOnly, egress }: CreateSandboxOptions): Promise<Sandbox> {
    const asRoot = process.getuid?.() === 0;
    if (!asRoot && !this.#warned) {
      this.#warned = true;
      (this.#o.logger ?? silentLogger).warn('the bubblewrap sandbox runs as this user: its process and disk limits are shared with it');
    }
    if (egress !== undefined && !(await forwarderAvailable())) {
      (this.#o.logger ?? silentLogger).error('a sandbox with egress rules needs socat on this host');
      throw new AgentFailure('the sandbox could not be given its network');
    }
    await this.#makeBase();
    const root = await mkdtemp(join(this.#base, `${agentId.slice(0, 8)}-`));
    await chmod(root, 0o711);
    const workspace = join(root, 'workspace');
    await mkdir(workspace, { mode: 0o700 });
    const hostUid = asRoot ? this.#takeHostUid() : undefined;
    const sandbox = new BubblewrapSandbox({
      bwrap: this.#o.bwrap ?? 'bwrap',
      root,
      workspace,
      hostUid,
      readOnly: readOnly === true,
      egress,
      limits: this.#limits,
      outputLimit: this.#o.outputLimit ?? DEFAULT_OUTPUT_LIMIT,
      release: () => hostUid !== undefined && this.#hostUids.delete(hostUid),
    });
    try {
      if (hostUid !== undefined) {
        // A size-capped tmpfs owned by the sandbox's host uid: a disk fill stays in it.
        const mounted = await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${this.#limits.workspaceBytes},mode=0700,uid=${hostUid},gid=${hostUid},nodev,nosuid`, 'tmpfs', workspace], { timeoutMs: 10_000 });
        if (mounted.exitCode !== 0) {
          // mount's reason names host paths: it goes to this host's log, not to the peer.
          (this.#o.logger ?? silentLogger).error('could not mount a sandbox workspace', { reason: mounted.stderr.trim() });
          throw new AgentFailure('the sandbox could not be prepared');
        }
      }
      await cp(source, workspace, { recursive: true });
      if (hostUid !== undefined) await chownTree(workspace, hostUid);
      // The gate's socket is the host's only file the sandbox may connect to: its own uid may.
      if (egress !== undefined && hostUid !== undefined) await chown(egress.socketPath, hostUid, hostUid);
      return sandbox;
    } catch (error) {
      await sandbox.destroy();
      throw error;
    }
  }

  /** Removes the workspaces an earlier process left (its commands died with it: `--die-with-parent`). */
  async removeLeftovers(): Promise<number> {
    return removeLeftoverDirs(this.#base, this.#o.root === undefined ? this.#o.deadOwner : undefined, removeSandboxDir);
  }

  #takeHostUid(): number {
    for (;;) {
      const uid = HOST_UID_BASE + Math.floor(Math.random() * HOST_UID_RANGE);
      if (!this.#hostUids.has(uid)) {
        this.#hostUids.add(uid);
        return uid;
      }
    }
  }
}

interface SandboxSetup {
  bwrap: string;
  root: string;
  workspace: string;
  hostUid: number | undefined;
  readOnly: boolean;
  egress: SandboxEgress | undefined;
  limits: Limits;
  outputLimit: number;
  release: () => void;
}

class BubblewrapSandbox implements Sandbox {
  readonly isolation = 'namespace' as const;
  readonly workdir = WORKDIR;
  readonly #s: SandboxSetup;
  readonly #running = new Set<() => void>();
  #destroyed: Promise<void> | undefined;

  constructor(setup: SandboxSetup) {
    this.#s = setup;
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    const stdout = new ClippedText(this.#s.outputLimit);
    const stderr = new ClippedText(this.#s.outputLimit);
    // With a gate, each command's namespace first gets its forwarder (sandboxes/egress.ts).
    const script = this.#s.egress === undefined ? command : `${forwarderPrelude(EGRESS_SOCKET)}exec /bin/sh -c "$1"`;
    const result = await this.#run(script, { ...options, stdout, stderr, args: this.#s.egress === undefined ? [] : ['sh', command] });
    return { exitCode: result.exitCode, stdout: stdout.toString(), stderr: stderr.toString(), timedOut: result.timedOut };
  }

  async readFile(path: string): Promise<string> {
    // Read inside the sandbox: a symbolic link the agent made leads nowhere on the host.
    const target = resolveInside(WORKDIR, path);
    const chunks: string[] = [];
    let size = 0;
    const errors = new ClippedText(2_000);
    const { exitCode } = await this.#run(`cat -- ${quote(target)}`, {
      timeoutMs: 30_000,
      stdout: {
        push: (chunk) => {
          size += Buffer.byteLength(chunk);
          if (size <= MAX_READ_BYTES) chunks.push(chunk);
        },
      },
      stderr: errors,
    });
    if (exitCode !== 0) {
      const reason = errors.toString();
      if (/No such file/i.test(reason)) throw new Error(`${path} does not exist`);
      if (/Is a directory/i.test(reason)) throw new Error(`${path} is a directory`);
      throw new Error(`cannot read ${path}`);
    }
    if (size > MAX_READ_BYTES) throw new Error(`${path} is over ${MAX_READ_BYTES} bytes`);
    return chunks.join('');
  }

  async writeFile(path: string, content: string): Promise<void> {
    if (this.#s.readOnly) throw new Error('this agent works on a read-only copy: it cannot change files');
    const target = resolveInside(WORKDIR, path);
    const errors = new ClippedText(2_000);
    const { exitCode } = await this.#run(`mkdir -p -- ${quote(posix.dirname(target))} && cat > ${quote(target)}`, {
      timeoutMs: 30_000,
      stdin: content,
      stdout: errors,
      stderr: errors,
    });
    if (exitCode !== 0) throw new Error(`cannot write ${path}: ${errors.toString().trim()}`);
  }

  async exportTo(hostDir: string): Promise<void> {
    // Symbolic links are copied as links, never followed on the host.
    await cp(this.#s.workspace, hostDir, { recursive: true, verbatimSymlinks: true });
  }

  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      for (const stop of this.#running) stop();
      this.#running.clear();
      await removeSandboxDir(this.#s.root);
      this.#s.release();
    })();
    return this.#destroyed;
  }

  #run(
    command: string,
    options: ExecOptions & {
      stdin?: string;
      /** `$0`, `$1`, ... of the command. */
      args?: string[];
      stdout: { push(chunk: string): void };
      stderr: { push(chunk: string): void };
    },
  ): Promise<{ exitCode: number; timedOut: boolean }> {
    if (this.#destroyed !== undefined) return Promise.reject(new Error('the sandbox is gone'));
    const { limits, hostUid, egress } = this.#s;
    const egressArgs =
      egress === undefined
        ? []
        : [
            '--bind', egress.socketPath, EGRESS_SOCKET,
            ...Object.entries(egressEnvironment()).flatMap(([name, value]) => ['--setenv', name, value]),
          ];
    const bwrapArgs = [
      ...namespaceArgs(limits),
      ...egressArgs,
      this.#s.readOnly ? '--ro-bind' : '--bind',
      this.#s.workspace,
      WORKDIR,
      '--chdir',
      WORKDIR,
      '--',
      '/bin/sh',
      '-c',
      command,
      ...(options.args ?? []),
    ];
    // prlimit sets the limits bwrap and everything inside inherit; as root, setpriv first
    // becomes the sandbox's own host uid, which the process limit counts.
    const limited = [
      `--nproc=${limits.maxProcesses}`,
      `--fsize=${limits.maxFileBytes}`,
      `--as=${limits.addressSpaceBytes}`,
      `--core=0`,
      '--',
      this.#s.bwrap,
      ...bwrapArgs,
    ];
    const [file, args] =
      hostUid === undefined
        ? ['prlimit', limited.filter((arg) => !arg.startsWith('--nproc='))]
        : ['setpriv', ['--reuid', String(hostUid), '--regid', String(hostUid), '--clear-groups', 'prlimit', ...limited]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => options.stdout.push(chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => options.stderr.push(chunk));
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin ?? '');
      let timedOut = false;
      // bwrap dies with its group; everything inside dies with bwrap (--die-with-parent
      // and the pid namespace).
      const stop = () => {
        if (child.pid !== undefined) killGroup(child.pid);
      };
      this.#running.add(stop);
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);
      options.signal?.addEventListener('abort', stop, { once: true });
      child.on('error', (error) => {
        clearTimeout(timer);
        this.#running.delete(stop);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#running.delete(stop);
        options.signal?.removeEventListener('abort', stop);
        if (options.signal?.aborted === true) return reject(options.signal.reason);
        resolve({ exitCode: code ?? (signal === null ? 1 : 128 + 9), timedOut });
      });
    });
  }
}

/** The namespaces, mounts and environment of every command (see the header). */
function namespaceArgs(limits: Limits): string[] {
  return [
    '--unshare-all',
    '--unshare-user',
    '--uid', String(SANDBOX_UID),
    '--gid', String(SANDBOX_UID),
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--clearenv',
    '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
    '--setenv', 'HOME', '/tmp',
    '--setenv', 'TMPDIR', '/tmp',
    '--setenv', 'LANG', 'C.UTF-8',
    '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--ro-bind-try', '/etc/alternatives', '/etc/alternatives',
    '--ro-bind-try', '/etc/ld.so.cache', '/etc/ld.so.cache',
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(limits.tmpBytes),
    '--tmpfs', '/tmp',
  ];
}

/** A word for `sh -c`, quoted. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    await chown(join(entry.parentPath, entry.name), uid, uid).catch(() => undefined);
  }
}

/** Unmounts a sandbox's workspace (when it is a tmpfs) and removes its directory. */
async function removeSandboxDir(root: string): Promise<void> {
  const workspace = join(root, 'workspace');
  if (process.getuid?.() === 0) await runCommand('umount', ['-l', workspace], { timeoutMs: 10_000 }).catch(() => undefined);
  // A process group just killed can still write for a moment: a folder that fills again is tried again.
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

/** Runs a host command to its end: its exit code and stderr. */
function runCommand(file: string, args: string[], options: { timeoutMs: number }): Promise<{ exitCode: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: options.timeoutMs });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stderr }));
  });
}
