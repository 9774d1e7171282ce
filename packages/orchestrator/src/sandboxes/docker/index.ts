// DockerSandbox: one labelled container per agent attempt, through dockerode, against
// Docker or Podman's Docker-compatible API. Hardened by default: no network (for an
// agent with egress rules, only its egress gate, sandboxes/egress.ts), every
// capability dropped, no-new-privileges, a non-root user, a read-only root file system
// with tmpfs for the workspace and /tmp, memory, CPU and process limits, and an init
// process that reaps orphans.
import type { ChildProcess } from 'node:child_process';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { silentLogger, type AgentType, type Logger } from '@mosaic-fed/core';
import Docker from 'dockerode';
import type { DeadOwner, TakesOverDeadOwners } from '../../lib/leftovers.js';
import { ClippedText, DEFAULT_OUTPUT_LIMIT, resolveInside } from '../../lib/output.js';
import { packDirectory, packFile, sendingStream, unpackInto, type Owner } from '../../lib/tar.js';
import { AgentFailure } from '../../lib/failure.js';
import { egressEnvironment, forwarderAvailable, startForwarderIn } from '../egress.js';
import type { CreateSandboxOptions, ExecOptions, ExecResult, Sandbox, SandboxProvider } from '../types.js';

/** Every sandbox container carries this label, set to the owning orchestrator's id. */
export const SANDBOX_LABEL = 'dev.mosaic-fed.sandbox';
/** The agent a container belongs to. */
export const AGENT_LABEL = 'dev.mosaic-fed.agent-id';

export interface DockerSandboxOptions extends TakesOverDeadOwners {
  /** The image agents run in; it needs `sh` and `timeout` (busybox or coreutils). */
  image: string;
  /**
   * Images for some agent types instead of `image` (a tester's with the project's
   * toolchain, say). Each needs what `image` needs.
   */
  images?: Partial<Record<AgentType, string>>;
  /** Default: `new Docker()`, which reads `DOCKER_HOST` or uses the local socket. */
  docker?: Docker;
  /**
   * Names this orchestrator's containers. Leftovers are removed by this id only, so
   * several orchestrators can share one engine. Default `default`.
   */
  orchestratorId?: string;
  /** The user agents run as, numeric: `uid` or `uid:gid`. Default `1000:1000`. */
  user?: string;
  /** Default 1 GiB. */
  memoryBytes?: number;
  /** CPUs, as a fraction. Default 1. */
  cpus?: number;
  /** Default 256. */
  pidsLimit?: number;
  /** Size of the workspace tmpfs. Default `1g`. */
  workspaceSize?: string;
  /** Characters of output kept per command. Default 30,000. */
  outputLimit?: number;
  logger?: Logger;
}

const WORKDIR = '/workspace';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_READ_BYTES = 1024 * 1024;

export class DockerSandboxProvider implements SandboxProvider {
  readonly name = 'docker';
  readonly #docker: Docker;
  readonly #o: Required<Omit<DockerSandboxOptions, 'docker' | 'deadOwner' | 'images'>>;
  readonly #images: Partial<Record<AgentType, string>>;
  readonly #deadOwner: DeadOwner | undefined;

  constructor(options: DockerSandboxOptions) {
    if (typeof options.image !== 'string' || options.image === '') throw new TypeError('DockerSandboxProvider: give an image');
    // Numeric, so the files given to the container are owned by the very ids it runs as.
    if (options.user !== undefined && !/^\d+(:\d+)?$/.test(options.user)) throw new TypeError('DockerSandboxProvider: `user` must be `uid` or `uid:gid`, in numbers');
    this.#docker = options.docker ?? new Docker();
    this.#deadOwner = options.deadOwner;
    this.#images = { ...options.images };
    for (const [type, image] of Object.entries(this.#images)) {
      if (typeof image !== 'string' || image === '') throw new TypeError(`DockerSandboxProvider: the ${type} image is empty`);
    }
    this.#o = {
      image: options.image,
      orchestratorId: options.orchestratorId ?? 'default',
      user: options.user ?? '1000:1000',
      memoryBytes: options.memoryBytes ?? 1024 ** 3,
      cpus: options.cpus ?? 1,
      pidsLimit: options.pidsLimit ?? 256,
      workspaceSize: options.workspaceSize ?? '1g',
      outputLimit: options.outputLimit ?? DEFAULT_OUTPUT_LIMIT,
      logger: options.logger ?? silentLogger,
    };
  }

  /** True when the engine answers and has every image; for choosing a sandbox at start. */
  async available(): Promise<boolean> {
    try {
      await this.#docker.ping();
      for (const image of new Set([this.#o.image, ...Object.values(this.#images)])) await this.#docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  async create({ agentId, source, readOnly, egress, agentType }: CreateSandboxOptions): Promise<Sandbox> {
    if (egress !== undefined && !(await forwarderAvailable())) {
      this.#o.logger.error('a sandbox with egress rules needs socat and nsenter on this host');
      throw new AgentFailure('the sandbox could not be given its network');
    }
    // A read-only workspace belongs to root and is not writable: the agent (a non-root
    // user without capabilities) can read it and change nothing.
    const owner = readOnly === true ? '0:0' : this.#o.user;
    const workspaceMode = readOnly === true ? '0755' : '1777';
    const container = await this.#docker.createContainer({
      Image: (agentType === undefined ? undefined : this.#images[agentType]) ?? this.#o.image,
      Cmd: ['sleep', '2147483647'],
      User: this.#o.user,
      WorkingDir: WORKDIR,
      Env: [
        `PATH=${PATH}`,
        'HOME=/tmp',
        'LANG=C.UTF-8',
        ...(egress === undefined ? [] : Object.entries(egressEnvironment()).map(([name, value]) => `${name}=${value}`)),
      ],
      Labels: { [SANDBOX_LABEL]: this.#o.orchestratorId, [AGENT_LABEL]: agentId },
      Tty: false,
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: this.#o.memoryBytes,
        MemorySwap: this.#o.memoryBytes,
        NanoCpus: Math.round(this.#o.cpus * 1e9),
        PidsLimit: this.#o.pidsLimit,
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,size=256m,mode=1777', [WORKDIR]: `rw,size=${this.#o.workspaceSize},mode=${workspaceMode}` },
        // PID 1 reaps orphaned processes, so zombies do not pile up to the process limit.
        Init: true,
      },
    });
    const sandbox = new DockerSandbox(container, this.#o.outputLimit, readOnly === true);
    try {
      await container.start();
      if (egress !== undefined) {
        // The container has no network but its own loopback; the forwarder, a host process
        // in the container's network namespace, is the one way out (sandboxes/egress.ts).
        // It needs the engine on this host and the right to enter namespaces (root).
        const { State } = await container.inspect();
        sandbox.keep(await startForwarderIn(State.Pid, egress));
      }
      const files = packDirectory(source, { owner: ownerOf(owner) });
      await sendingStream(files, container.putArchive(files, { path: WORKDIR }));
      return sandbox;
    } catch (error) {
      await sandbox.destroy();
      throw error;
    }
  }

  async removeLeftovers(): Promise<number> {
    const deadOwner = this.#deadOwner;
    const leftovers = (
      await this.#docker.listContainers({
        all: true,
        filters: { label: [deadOwner === undefined ? `${SANDBOX_LABEL}=${this.#o.orchestratorId}` : SANDBOX_LABEL] },
      })
    ).filter((info) => {
      const owner = info.Labels[SANDBOX_LABEL] ?? '';
      return owner === this.#o.orchestratorId || deadOwner?.(owner) === true;
    });
    await Promise.all(leftovers.map((info) => removeContainer(this.#docker.getContainer(info.Id))));
    return leftovers.length;
  }
}

class DockerSandbox implements Sandbox {
  readonly isolation = 'container' as const;
  readonly workdir = WORKDIR;
  readonly #container: Docker.Container;
  readonly #outputLimit: number;
  readonly #readOnly: boolean;
  /** Host processes that live and die with the container: its egress forwarder. */
  readonly #helpers: ChildProcess[] = [];
  #destroyed: Promise<void> | undefined;

  constructor(container: Docker.Container, outputLimit: number, readOnly: boolean) {
    this.#container = container;
    this.#outputLimit = outputLimit;
    this.#readOnly = readOnly;
  }

  /** Stops `helper` when the sandbox goes. */
  keep(helper: ChildProcess): void {
    this.#helpers.push(helper);
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    // There is no API to kill an exec'd process: `timeout` inside the container does it,
    // and a kill removes the whole container.
    const seconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    const stdout = new ClippedText(this.#outputLimit);
    const stderr = new ClippedText(this.#outputLimit);
    const started = Date.now();
    const exitCode = await this.#run(['timeout', '-s', 'KILL', String(seconds), 'sh', '-c', command], stdout, stderr, options.signal);
    const timedOut = exitCode === 137 && Date.now() - started >= seconds * 1000 - 100;
    return { exitCode, stdout: stdout.toString(), stderr: stderr.toString(), timedOut };
  }

  async readFile(path: string): Promise<string> {
    const bytes: Buffer[] = [];
    let size = 0;
    const errors = new ClippedText(2_000);
    const exitCode = await this.#run(['cat', '--', resolveInside(WORKDIR, path)], {
      push: (chunk) => {
        size += Buffer.byteLength(chunk);
        if (size <= MAX_READ_BYTES) bytes.push(Buffer.from(chunk));
      },
    }, errors);
    if (exitCode !== 0) {
      const reason = errors.toString();
      if (/No such file/i.test(reason)) throw new Error(`${path} does not exist`);
      if (/Is a directory/i.test(reason)) throw new Error(`${path} is a directory`);
      throw new Error(reason.trim() || `cannot read ${path}`);
    }
    if (size > MAX_READ_BYTES) throw new Error(`${path} is over ${MAX_READ_BYTES} bytes`);
    return Buffer.concat(bytes).toString('utf8');
  }

  async writeFile(path: string, content: string): Promise<void> {
    // The engine's API writes as root: it would pass the read-only workspace by.
    if (this.#readOnly) throw new Error('this agent works on a read-only copy: it cannot change files');
    const target = resolveInside(WORKDIR, path);
    const errors = new ClippedText(2_000);
    const made = await this.#run(['mkdir', '-p', '--', posix.dirname(target)], errors, errors);
    if (made !== 0) throw new Error(errors.toString().trim() || `cannot create the folder of ${path}`);
    const archive = packFile(posix.basename(target), Buffer.from(content, 'utf8'), ownerOf(await this.#user()), new Date());
    await sendingStream(archive, this.#container.putArchive(archive, { path: posix.dirname(target) }));
  }

  async exportTo(hostDir: string): Promise<void> {
    const archive = (await this.#container.getArchive({ path: `${WORKDIR}/.` })) as Readable;
    await unpackInto(archive, hostDir);
  }

  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      for (const helper of this.#helpers) helper.kill('SIGKILL');
      await removeContainer(this.#container);
    })();
    return this.#destroyed;
  }

  async #user(): Promise<string> {
    const info = await this.#container.inspect();
    return info.Config.User || '0:0';
  }

  /** Runs a command and returns its exit code, streaming its output to the sinks. */
  async #run(cmd: string[], out: { push(chunk: string): void }, err: { push(chunk: string): void }, signal?: AbortSignal): Promise<number> {
    if (this.#destroyed !== undefined) throw new Error('the sandbox is gone');
    signal?.throwIfAborted();
    const exec = await this.#container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, WorkingDir: WORKDIR, Tty: false });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk));
    stderr.setEncoding('utf8').on('data', (chunk: string) => err.push(chunk));
    this.#container.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
      const abort = () => {
        stream.destroy();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', abort, { once: true });
      // demuxStream does not end the sinks: the source's end is the command's end.
      stream.on('end', () => (signal?.removeEventListener('abort', abort), resolve()));
      stream.on('close', () => (signal?.removeEventListener('abort', abort), resolve()));
      stream.on('error', (error) => (signal?.removeEventListener('abort', abort), reject(error)));
    });
    const { ExitCode } = await exec.inspect();
    return ExitCode ?? 1;
  }
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    // Killed first: everything in it dies with its first process, exec sessions included.
    // Podman, asked to remove a container whose exec session still runs, can wait 5 s for
    // that session's exit file before it gives up and removes it anyway.
    await container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    await container.remove({ force: true });
  } catch (error) {
    // Already gone (404) or being removed (409): either way it will not be left behind.
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw error;
  }
}

/** The owner of a `uid:gid` (or `uid`) user string. */
function ownerOf(user: string): Owner {
  const [uid = 0, gid = uid] = user.split(':').map(Number);
  return { uid, gid };
}
