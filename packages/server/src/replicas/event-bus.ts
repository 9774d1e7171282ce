import type { AgentStatusChangedPayload } from '@mosaic-fed/core';

/** Receives status events of one agent. */
export type AgentEventListener = (event: AgentStatusChangedPayload) => void;

/**
 * Fans status events out to the event streams that watch an agent. In one process by
 * default; replicas share a Valkey pub/sub one so a stream on any replica sees them all.
 */
export interface EventBus {
  publish(agentId: string, event: AgentStatusChangedPayload): Promise<void>;
  /** Returns a function that stops the subscription. */
  subscribe(agentId: string, listener: AgentEventListener): () => void;
}

export class InMemoryEventBus implements EventBus {
  readonly #listeners = new Map<string, Set<AgentEventListener>>();

  async publish(agentId: string, event: AgentStatusChangedPayload): Promise<void> {
    for (const listener of this.#listeners.get(agentId) ?? []) listener(event);
  }

  subscribe(agentId: string, listener: AgentEventListener): () => void {
    const listeners = this.#listeners.get(agentId) ?? new Set<AgentEventListener>();
    listeners.add(listener);
    this.#listeners.set(agentId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(agentId);
    };
  }
}
