/**
 * @mosaic-fed/orchestrator/node: the Node-only pieces of our own: the process sandbox
 * and git workspaces.
 *
 * @packageDocumentation
 */
export { ProcessSandboxProvider } from './sandboxes/process/index.js';
export type { ProcessSandboxOptions } from './sandboxes/process/index.js';
export { GitWorkspaceProvider, MAX_PATCH_BYTES, redactCredentials } from './workspaces/git.js';
export type { GitWorkspaceOptions } from './workspaces/git.js';
