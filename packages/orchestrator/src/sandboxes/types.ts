// The sandbox contract: where an agent's commands run and its files live. Each vendor's
// implementation sits in its own folder (`docker/`, `bubblewrap/`, `process/`).
import type { AgentType } from '@mosaic-fed/core';
import type { SandboxEgress } from './egress.js';

/** What one command did. Output is clipped to the sandbox's limit, keeping head and tail. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The command ran past its timeout and was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kills the command after this many milliseconds. */
  timeoutMs: number;
  /** Kills the command when aborted. */
  signal?: AbortSignal | undefined;
}

/** One agent's isolated workspace: a copy of the repository and a way to run commands in it. */
export interface Sandbox {
  /**
   * How the agent is kept apart from the host: a `container`, Linux `namespace`s
   * (bubblewrap), or only a `process` of this user (`unsafe-process`: no isolation).
   */
  readonly isolation: 'container' | 'namespace' | 'process';
  /** The repository's root inside the sandbox; commands start there. */
  readonly workdir: string;
  /** Runs `command` with `sh -c` in `workdir`. */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** Reads a file; `path` is relative to `workdir` or absolute inside it. */
  readFile(path: string): Promise<string>;
  /** Writes a file, creating its directories. */
  writeFile(path: string, content: string): Promise<void>;
  /** Copies the working tree (everything under `workdir`) into an empty host directory. */
  exportTo(hostDir: string): Promise<void>;
  /** Stops everything running in the sandbox and removes it. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface CreateSandboxOptions {
  agentId: string;
  /** A host directory whose contents become `workdir`. */
  source: string;
  /** The agent's type, for a provider that prepares each type differently (an image per type). */
  agentType?: AgentType | undefined;
  /** The agent may read the workspace but not change it (a `reviewer`). Default false. */
  readOnly?: boolean | undefined;
  /**
   * The agent's egress gate (egress/index.ts): the sandbox reaches it as an HTTP proxy on
   * its own loopback, and nothing else. Left out: no network at all.
   */
  egress?: SandboxEgress | undefined;
}

/** Creates sandboxes of one kind. */
export interface SandboxProvider {
  readonly name: string;
  create(options: CreateSandboxOptions): Promise<Sandbox>;
  /** Removes sandboxes an earlier process left behind; returns how many it removed. */
  removeLeftovers?(): Promise<number>;
}
