/**
 * @mosaic-fed/orchestrator/anthropic: the built-in `worker`, `reviewer` and `tester`
 * runners on the official Anthropic SDK, and the sandbox tools they use.
 *
 * @packageDocumentation
 */
export {
  CLEARED_OUTPUT,
  CONTEXT_FULL,
  createClaudeRunners,
  createSandboxTools,
  isCheck,
  MAX_FILE_BYTES,
  MAX_VIEW_CHARACTERS,
  modelLimits,
} from './runners/anthropic/index.js';
export type { ClaudeRunnerOptions, CommandRun, ModelLimits, SandboxToolsOptions } from './runners/anthropic/index.js';
