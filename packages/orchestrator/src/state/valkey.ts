// Agent state in Valkey (or Redis) through ioredis, for orchestrators on many machines.
// Each change is one Lua script: compare the sequence, write the status, append the
// event, keep the set of active agents, all atomically.
import {
  AgentSpawnPayloadSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  ApprovalAnswerSchema,
  ApprovalRulesSchema,
  EgressRuleSchema,
  IsoDateTimeSchema,
  isTerminalState,
  TranscriptEntrySchema,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type TranscriptEntry,
} from '@mosaic-fed/core';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AgentStateStore, NewTranscriptEntry, StoredAgent, StoredAnswer } from './types.js';

export interface ValkeyAgentStateStoreOptions {
  /** A connected client; the store does not close it. */
  redis: Redis;
  /** Prefix of every key. Default `mosaic-fed:orchestrator:`. */
  prefix?: string;
}

// KEYS: agent hash, events list, active set. ARGV: agentId, owner, spec, status, state, sequence, event, terminal, egress, maxTokens, approvals, traceparent.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'spec', ARGV[3], 'status', ARGV[4], 'sequence', ARGV[6])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'egress', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'maxTokens', ARGV[10]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'approvals', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'traceparent', ARGV[12]) end
redis.call('RPUSH', KEYS[2], ARGV[7])
if ARGV[8] == '0' then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1`;

// KEYS: agent hash, events list, active set. ARGV: agentId, expected sequence, status, event, terminal.
const UPDATE = `
local current = redis.call('HGET', KEYS[1], 'sequence')
if current == false or current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'sequence', tostring(tonumber(ARGV[2]) + 1))
redis.call('RPUSH', KEYS[2], ARGV[4])
if ARGV[5] == '1' then redis.call('SREM', KEYS[3], ARGV[1]) end
return 1`;

const StoredAnswerSchema = ApprovalAnswerSchema.extend({ answeredAt: IsoDateTimeSchema });

export class ValkeyAgentStateStore implements AgentStateStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: ValkeyAgentStateStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'mosaic-fed:orchestrator:';
  }

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    const event: AgentStatusChangedPayload = { ...agent.status, sequence: agent.sequence };
    const created = await this.#redis.eval(
      CREATE,
      3,
      ...this.#keys(agent.agentId),
      agent.agentId,
      agent.ownerInstanceId,
      JSON.stringify(agent.spec),
      JSON.stringify(agent.status),
      agent.status.status,
      String(agent.sequence),
      JSON.stringify(event),
      isTerminalState(agent.status.status) ? '1' : '0',
      agent.egress === undefined ? '' : JSON.stringify(agent.egress),
      agent.maxTokens === undefined ? '' : String(agent.maxTokens),
      agent.approvals === undefined ? '' : JSON.stringify(agent.approvals),
      agent.traceparent ?? '',
    );
    return created === 1 ? 'created' : 'exists';
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    return toAgent(agentId, await this.#redis.hgetall(this.#keys(agentId)[0]));
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    if (agentIds.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const agentId of agentIds) pipeline.hget(this.#keys(agentId)[0], 'status');
    const replies = (await pipeline.exec()) ?? [];
    return agentIds.map((_agentId, i) => {
      const [error, status] = replies[i] ?? [new Error('no reply')];
      if (error !== null) throw error;
      return typeof status === 'string' ? AgentStatusSchema.parse(JSON.parse(status)) : undefined;
    });
  }

  async update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    const event: AgentStatusChangedPayload = { ...status, sequence: expectedSequence + 1 };
    const updated = await this.#redis.eval(
      UPDATE,
      3,
      ...this.#keys(agentId),
      agentId,
      String(expectedSequence),
      JSON.stringify(status),
      JSON.stringify(event),
      isTerminalState(status.status) ? '1' : '0',
    );
    return updated === 1 ? event : undefined;
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    // Event n sits at index n - 1: the list only ever grows by one per sequence.
    const raw = await this.#redis.lrange(this.#keys(agentId)[1], afterSequence, -1);
    return raw.map((text) => AgentStatusChangedPayloadSchema.parse(JSON.parse(text)));
  }

  async listActive(): Promise<StoredAgent[]> {
    const ids = await this.#redis.smembers(`${this.#prefix}active`);
    const agents = await Promise.all(ids.map((id) => this.get(id)));
    return agents.filter((agent): agent is StoredAgent => agent !== undefined && !isTerminalState(agent.status.status));
  }

  async appendTranscript(agentId: string, entries: readonly NewTranscriptEntry[]): Promise<void> {
    // Entry n sits at index n - 1 of a list that only grows: its position is its number.
    if (entries.length > 0) await this.#redis.rpush(this.#transcriptKey(agentId), ...entries.map((entry) => JSON.stringify(entry)));
  }

  async transcript(agentId: string, after: number, limit: number): Promise<TranscriptEntry[]> {
    const raw = await this.#redis.lrange(this.#transcriptKey(agentId), after, after + limit - 1);
    return raw.map((text, offset) => TranscriptEntrySchema.parse({ ...JSON.parse(text), index: after + offset + 1 }));
  }

  async putBundle(agentId: string, bundle: Uint8Array): Promise<void> {
    await this.#redis.set(this.#bundleKey(agentId), Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength));
  }

  async readBundle(agentId: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    const key = this.#bundleKey(agentId);
    const range = await this.#redis.getrangeBuffer(key, offset, offset + length - 1);
    if (range.length > 0) return new Uint8Array(range.buffer, range.byteOffset, range.length);
    // GETRANGE answers nothing both for a missing key and for a range past the end.
    return (await this.#redis.exists(key)) === 1 ? new Uint8Array() : undefined;
  }

  async putAnswer(agentId: string, answer: StoredAnswer): Promise<boolean> {
    // One field per approval: HSETNX keeps the first answer and tells whether it was this one.
    return (await this.#redis.hsetnx(this.#answersKey(agentId), answer.approvalId, JSON.stringify(answer))) === 1;
  }

  async answer(agentId: string, approvalId: string): Promise<StoredAnswer | undefined> {
    const raw = await this.#redis.hget(this.#answersKey(agentId), approvalId);
    return raw === null ? undefined : StoredAnswerSchema.parse(JSON.parse(raw));
  }

  #answersKey(agentId: string): string {
    return `${this.#prefix}answers:${agentId}`;
  }

  #bundleKey(agentId: string): string {
    return `${this.#prefix}bundle:${agentId}`;
  }

  #transcriptKey(agentId: string): string {
    return `${this.#prefix}transcript:${agentId}`;
  }

  #keys(agentId: string): [string, string, string] {
    return [`${this.#prefix}agent:${agentId}`, `${this.#prefix}events:${agentId}`, `${this.#prefix}active`];
  }
}

function toAgent(agentId: string, fields: Record<string, string>): StoredAgent | undefined {
  if (fields.sequence === undefined) return undefined;
  return {
    agentId,
    ownerInstanceId: fields.owner ?? '',
    spec: AgentSpawnPayloadSchema.parse(JSON.parse(fields.spec ?? 'null')),
    ...(fields.egress === undefined ? {} : { egress: z.array(EgressRuleSchema).parse(JSON.parse(fields.egress)) }),
    ...(fields.maxTokens === undefined ? {} : { maxTokens: z.coerce.number().int().min(1).parse(fields.maxTokens) }),
    ...(fields.approvals === undefined ? {} : { approvals: ApprovalRulesSchema.parse(JSON.parse(fields.approvals)) }),
    ...(fields.traceparent === undefined ? {} : { traceparent: fields.traceparent }),
    status: AgentStatusSchema.parse(JSON.parse(fields.status ?? 'null')),
    sequence: Number(fields.sequence),
  };
}
