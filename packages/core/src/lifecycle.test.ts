import { describe, expect, it } from 'vitest';
import { FederationError } from './errors.js';
import { canTransition, isTerminalState, nextStates, TERMINAL_STATES, transition } from './lifecycle.js';
import { AGENT_STATES, type AgentState } from './schemas/agents.js';

// PROTOCOL 5: spawning -> running -> completed | failed | killed, spawning -> failed | killed,
// and running <-> waiting while an agent waits for an approval (a kill or a timeout ends it there).
const ALLOWED = new Set([
  'spawning->running',
  'spawning->failed',
  'spawning->killed',
  'running->waiting',
  'running->completed',
  'running->failed',
  'running->killed',
  'waiting->running',
  'waiting->failed',
  'waiting->killed',
]);

const everyPair = AGENT_STATES.flatMap((from) => AGENT_STATES.map((to) => [from, to] as [AgentState, AgentState]));

describe('agent lifecycle (PROTOCOL 5)', () => {
  it.each(everyPair.filter(([from, to]) => ALLOWED.has(`${from}->${to}`)))('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(transition(from, to)).toBe(to);
  });

  it.each(everyPair.filter(([from, to]) => !ALLOWED.has(`${from}->${to}`)))('forbids %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    let caught: unknown;
    try {
      transition(from, to);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FederationError);
    // Leaving a terminal state is the protocol's AGENT_ALREADY_TERMINAL; anything else is a bug.
    expect((caught as FederationError).code).toBe(isTerminalState(from) ? 'AGENT_ALREADY_TERMINAL' : 'INTERNAL');
  });

  it('never leaves a terminal state, and only completed, failed and killed are terminal', () => {
    expect([...TERMINAL_STATES].sort()).toEqual(['completed', 'failed', 'killed']);
    for (const state of TERMINAL_STATES) expect(nextStates(state)).toEqual([]);
    expect(isTerminalState('spawning')).toBe(false);
    expect(isTerminalState('running')).toBe(false);
  });

  it('carries the terminal status with AGENT_ALREADY_TERMINAL', () => {
    try {
      transition('completed', 'killed');
      expect.unreachable();
    } catch (error) {
      expect((error as FederationError).data).toEqual({ status: 'completed' });
      expect((error as FederationError).status).toBe(409);
    }
  });
});
