// The instance's health, part by part, for its admin: each part a probe that answers in
// words. The server knows its orchestrator; the Node entry adds what it set up (how
// sandboxes isolate agents, Valkey).
import { isFederationError, type OrchestratorAdapter } from '@mosaic-fed/core';

/** One part of the instance's health, in words: `good`, `bad` (needs a look), or `quiet` (not in use). */
export interface HealthCheck {
  name: string;
  state: 'good' | 'bad' | 'quiet';
  words: string;
}

/** Asks one part how it is doing. A probe that throws or takes too long counts as `bad`. */
export interface HealthProbe {
  name: string;
  check(signal: AbortSignal): Promise<Omit<HealthCheck, 'name'>>;
}

/** How long a probe may take before it counts as not answering. */
const PROBE_MS = 3_000;

/** Runs every probe at once, each bounded in time. */
export async function runHealthChecks(probes: readonly HealthProbe[]): Promise<HealthCheck[]> {
  return Promise.all(
    probes.map(async (probe): Promise<HealthCheck> => {
      const signal = AbortSignal.timeout(PROBE_MS);
      const timedOut = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('no answer in time')), { once: true }));
      try {
        return { name: probe.name, ...(await Promise.race([probe.check(signal), timedOut])) };
      } catch {
        // The reason stays in the probe: its words could name hosts or paths of this machine.
        return { name: probe.name, state: 'bad', words: 'It did not answer just now. The log has the details.' };
      }
    }),
  );
}

/** Whether the orchestrator answers: asked for an agent nobody has, `NOT_FOUND` means it does. */
export function orchestratorProbe(orchestrator: OrchestratorAdapter | undefined): HealthProbe {
  return {
    name: 'Orchestrator',
    check: async () => {
      if (orchestrator === undefined) return { state: 'quiet', words: 'None: this instance starts agents on peers, and runs none for them.' };
      try {
        await orchestrator.getStatus('00000000-0000-4000-8000-000000000000');
      } catch (error) {
        if (isFederationError(error) && error.code === 'NOT_FOUND') return { state: 'good', words: 'It answers, and runs the agents peers start here.' };
        throw error;
      }
      return { state: 'good', words: 'It answers.' };
    },
  };
}
