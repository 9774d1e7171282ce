// Branches this instance delivers from its agents' bundles, in memory.
import { isTerminalState } from '@mosaic-fed/core';
import type { DeliveryChange, DeliveryRecord, DeliveryStore, RemoteAgentStore } from '../types.js';
import { copy } from './shared.js';

export class InMemoryDeliveryStore implements DeliveryStore {
  readonly #deliveries = new Map<string, DeliveryRecord>();

  /** `agents`: the remote agents whose terminal status makes a delivery due. */
  constructor(private readonly agents: RemoteAgentStore) {}

  async create(record: DeliveryRecord): Promise<void> {
    if (!this.#deliveries.has(record.agentId)) this.#deliveries.set(record.agentId, copy(record));
  }

  async get(agentId: string): Promise<DeliveryRecord | undefined> {
    const record = this.#deliveries.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    const waiting = [...this.#deliveries.values()].filter((record) => record.state === 'waiting' && record.nextAttemptAt <= now);
    const due: DeliveryRecord[] = [];
    for (const record of waiting.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)) {
      const agent = await this.agents.get(record.agentId);
      if (agent !== undefined && isTerminalState(agent.status.status)) due.push(copy(record));
      if (due.length === limit) break;
    }
    return due;
  }

  async update(agentId: string, change: DeliveryChange): Promise<boolean> {
    const record = this.#deliveries.get(agentId);
    if (record?.state !== 'waiting') return false;
    this.#deliveries.set(agentId, { ...record, ...copy(change) });
    return true;
  }
}
