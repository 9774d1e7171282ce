/**
 * @mosaic-fed/orchestrator/node: the Node-only pieces of our own: the egress proxy, the
 * bubblewrap sandbox, the process sandbox (no isolation: one's own experiments only) and git workspaces.
 *
 * @packageDocumentation
 */
export { EGRESS_REFUSED, EgressProxy } from './egress/index.js';
export type { EgressGate, EgressProxyOptions } from './egress/index.js';
export { BubblewrapSandboxProvider } from './sandboxes/bubblewrap/index.js';
export type { BubblewrapSandboxOptions } from './sandboxes/bubblewrap/index.js';
export { ProcessSandboxProvider } from './sandboxes/process/index.js';
export type { ProcessSandboxOptions } from './sandboxes/process/index.js';
export { GitWorkspaceProvider, MAX_PATCH_BYTES, redactCredentials } from './workspaces/git.js';
export type { GitWorkspaceOptions } from './workspaces/git.js';
export { GitRemoteRefusal, GitRemotes } from './workspaces/git-remote.js';
export type { GitRemotesOptions, GitRemoteTarget, LookupAddresses } from './workspaces/git-remote.js';
export { GIT_CREDENTIALS_FILE, GitCredentialFile } from './workspaces/credentials.js';
export { isDeadWorkerOwner, workerOwnerId } from './lib/leftovers.js';
export type { DeadOwner, TakesOverDeadOwners } from './lib/leftovers.js';
export type { GitCredentialSecret, GitCredentialSource } from './workspaces/credentials.js';
