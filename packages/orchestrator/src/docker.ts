/**
 * @mosaic-fed/orchestrator/docker: agents in hardened containers, through dockerode, on
 * Docker or on Podman's Docker-compatible API.
 *
 * @packageDocumentation
 */
export { AGENT_LABEL, DockerSandboxProvider, SANDBOX_LABEL } from './sandboxes/docker/index.js';
export type { DockerSandboxOptions } from './sandboxes/docker/index.js';
export type { DeadOwner, TakesOverDeadOwners } from './lib/leftovers.js';
