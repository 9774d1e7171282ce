import { FederationError } from './errors.js';
import { AGENT_STATES, type AgentState, type AgentStatus } from './schemas/agents.js';

/**
 * The agent lifecycle (PROTOCOL 5):
 * `spawning -> running -> completed | failed | killed`, and `spawning -> failed | killed`;
 * `running <-> waiting` while the agent waits for an approval, and from `waiting` a kill or
 * a timeout ends it. No transition leaves a terminal state. A retry is not a transition:
 * the agent stays `running` and its `attempt` grows.
 */
const TRANSITIONS: Readonly<Record<AgentState, readonly AgentState[]>> = {
  spawning: ['running', 'failed', 'killed'],
  running: ['waiting', 'completed', 'failed', 'killed'],
  waiting: ['running', 'failed', 'killed'],
  completed: [],
  failed: [],
  killed: [],
};

/** True for `completed`, `failed` and `killed`. */
export function isTerminalState(state: AgentState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** The states an agent never leaves. */
export const TERMINAL_STATES: readonly AgentState[] = AGENT_STATES.filter(isTerminalState);

/** The states an agent in `from` may move to. */
export function nextStates(from: AgentState): readonly AgentState[] {
  return TRANSITIONS[from];
}

/** True when the lifecycle allows `from -> to`. */
export function canTransition(from: AgentState, to: AgentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Checks a transition and returns the new state. From a terminal state this throws
 * `AGENT_ALREADY_TERMINAL` (a late "completed" never overwrites "killed"); any other
 * transition the lifecycle does not allow is a bug, thrown as `INTERNAL`.
 */
export function transition(from: AgentState, to: AgentState): AgentState {
  if (canTransition(from, to)) return to;
  if (isTerminalState(from)) {
    throw new FederationError('AGENT_ALREADY_TERMINAL', `the agent is already ${from}`, {
      data: { status: from },
    });
  }
  throw new FederationError('INTERNAL', `the lifecycle does not allow ${from} -> ${to}`);
}

/** The status of an agent just spawned (PROTOCOL 5): `spawning`, attempt 1, nothing else yet. */
export function spawningStatus(agent: Pick<AgentStatus, 'agentId' | 'taskId' | 'agentType' | 'spawnedAt'>): AgentStatus {
  return {
    agentId: agent.agentId,
    taskId: agent.taskId,
    agentType: agent.agentType,
    status: 'spawning',
    attempt: 1,
    spawnedAt: agent.spawnedAt,
    startedAt: null,
    completedAt: null,
    progress: null,
    result: null,
    error: null,
  };
}
