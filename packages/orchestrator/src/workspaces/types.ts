import type { Sandbox } from '../sandboxes/types.js';

/** A repository branch checked out on the host for one attempt of one agent. */
export interface Workspace {
  /** The host directory with the checkout (without `.git`'s history exposed to the agent). */
  readonly dir: string;
  /** A unified diff of the sandbox's working tree against the checkout: the agent's changes. */
  diff(sandbox: Sandbox): Promise<string>;
  /** Removes the checkout. Safe to call twice. */
  remove(): Promise<void>;
}

/** Prepares repositories on the host, where the network and credentials are. */
export interface WorkspaceProvider {
  checkout(source: { repository: string; branch: string }, signal: AbortSignal): Promise<Workspace>;
}
