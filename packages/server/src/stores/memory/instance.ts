// The instance record in memory.
import type { AuditEntry } from '@mosaic-fed/core';
import type { InstanceRecord, InstanceStore } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

export class InMemoryInstanceStore implements InstanceStore {
  #record: InstanceRecord | undefined;

  constructor(private readonly audit: InMemoryAuditStore) {}

  async get(): Promise<InstanceRecord | undefined> {
    return this.#record === undefined ? undefined : copy(this.#record);
  }

  async initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord> {
    if (this.#record === undefined) {
      this.#record = copy(record);
      await this.audit.append(audit);
    }
    return copy(this.#record);
  }

  async update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    if (this.#record?.version !== expectedVersion) return false;
    this.#record = copy(record);
    await this.audit.append(audit);
    return true;
  }
}
