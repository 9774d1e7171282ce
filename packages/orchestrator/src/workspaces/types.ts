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
   * The agent's changes as a unified diff (binary files included) against the commit it
   * started from: its commits, and whatever it left uncommitted, committed for it.
   */
  diff(sandbox: Sandbox): Promise<string>;
  /** Removes the checkout. Safe to call twice. */
  remove(): Promise<void>;
}

/** Prepares repositories on the host, where the network and credentials are. */
export interface WorkspaceProvider {
  checkout(source: CheckoutSource, signal: AbortSignal): Promise<Workspace>;
}
