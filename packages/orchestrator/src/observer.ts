// What an orchestrator tells an observer as it runs agents: the hooks the Node entry's
// metrics are built from. Each is called synchronously and must not throw; an observer's
// failure never reaches an agent.

/** Hooks an orchestrator calls; all optional. */
export interface OrchestratorObserver {
  /** A sandbox was made for an attempt: its provider (`docker`, `bubblewrap`, ...) and how long it took. */
  sandboxStarted?(info: { provider: string; seconds: number }): void;
}

/** Agents an orchestrator holds that have not ended: queued for a place (or a worker), and running. */
export interface OrchestratorBacklog {
  queued: number;
  running: number;
}

/** Calls a hook, keeping whatever it throws away from the agent. */
export function tell<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    hook?.(...args);
  } catch {
    // An observer's failure is its own.
  }
}
