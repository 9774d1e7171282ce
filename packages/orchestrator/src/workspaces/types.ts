import type { Sandbox } from '../sandboxes/types.js';

/** What to check out for one attempt: the peer's repository and branch, and the agent's own branch. */
export interface CheckoutSource {
  repository: string;
  branch: string;
  /** The branch the agent works on, made at the tip of `branch`. */
  agentBranch: string;
}

/**
 * A repository branch checked out on the host for one attempt of one agent: a git
 * repository with the branch's recent history and no remote, on the agent's branch.
 */
export interface Workspace {
  /** The host directory with the checkout, `.git` included. */
  readonly dir: string;
  /**
   * The agent's changes against the commit it started from: its commits, and whatever it
   * left uncommitted, committed for it. Nothing when it changed nothing.
   */
  changes(sandbox: Sandbox): Promise<WorkspaceChanges>;
  /** Removes the checkout. Safe to call twice. */
  remove(): Promise<void>;
}

/** What an agent changed; empty when it changed nothing. */
export interface WorkspaceChanges {
  /** A unified diff (binary files included); left out when it is too large for a message. */
  patch?: string;
  /** A git bundle of `refs/heads/<branch>` with the agent's commits since `base`. */
  bundle?: { data: Uint8Array; base: string; branch: string };
}

/** Prepares repositories on the host, where the network and credentials are. */
export interface WorkspaceProvider {
  checkout(source: CheckoutSource, signal: AbortSignal): Promise<Workspace>;
}
