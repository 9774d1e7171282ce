import type { AgentCheck, AgentOutcome, AgentType } from '@mosaic-fed/core';

/**
 * What an agent's work came to, from what happened in its sandbox: whether a worker
 * changed anything, and how each check it ran ended the last time it ran.
 */
export function outcomeOf(agentType: AgentType, changed: boolean, checks: readonly AgentCheck[]): AgentOutcome {
  if (agentType === 'worker' && !changed) return 'no-changes';
  if (checks.some((check) => check.exitCode !== 0 || check.timedOut === true)) return 'checks-failing';
  // A reviewer's work is its reading; a worker or a tester that ran no check left it unproven.
  if (checks.length === 0 && agentType !== 'reviewer') return 'unchecked';
  return 'succeeded';
}
