/**
 * @mosaic-fed/orchestrator/anthropic: the built-in `worker`, `reviewer` and `tester`
 * runners on the official Anthropic SDK, and the sandbox tools they use.
 *
 * @packageDocumentation
 */
export { createClaudeRunners, createSandboxTools, MAX_FILE_BYTES } from './runners/anthropic/index.js';
export type { ClaudeRunnerOptions, SandboxToolsOptions } from './runners/anthropic/index.js';
