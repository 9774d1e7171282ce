import { beforeAll, describe, expect, it } from 'vitest';
import { createIdentity, type TestIdentity } from '../../test/fixtures.js';
import { defaultGrants, GrantsSchema, UpdateGrantsDtoSchema } from './connections.js';
import {
  DEFAULT_CAPABILITIES,
  InstanceDocumentSchema,
  MetadataSchema,
  UpdateInstanceDtoSchema,
  type InstanceDocument,
} from './instance.js';

let identity: TestIdentity;
beforeAll(async () => {
  identity = await createIdentity();
});

const document = (): InstanceDocument => ({
  protocol: 'mosaic-federation/1',
  instanceId: identity.instanceId,
  name: 'Spoke West',
  url: 'https://spoke.example.com',
  capabilities: DEFAULT_CAPABILITIES,
  metadata: { region: 'eu-west' },
  keys: [identity.publicJwk],
  keyRotations: [],
});

/** A metadata object whose JSON is exactly `bytes` long. */
const metadataOf = (bytes: number) => ({ note: 'm'.repeat(bytes - '{"note":""}'.length) });

describe('instance document (PROTOCOL 1)', () => {
  it('accepts the protocol example shape', () => {
    expect(InstanceDocumentSchema.parse(document())).toEqual(document());
  });

  it('never carries a private key', () => {
    const leaked = { ...document(), keys: [identity.privateJwk] };
    expect(InstanceDocumentSchema.safeParse(leaked).success).toBe(false);
  });

  it('rejects unknown fields, another protocol, no key, and a URL with credentials', () => {
    expect(InstanceDocumentSchema.safeParse({ ...document(), admin: true }).success).toBe(false);
    expect(InstanceDocumentSchema.safeParse({ ...document(), protocol: 'mosaic-federation/2' }).success).toBe(false);
    expect(InstanceDocumentSchema.safeParse({ ...document(), keys: [] }).success).toBe(false);
    expect(InstanceDocumentSchema.safeParse({ ...document(), url: 'https://u:p@spoke.example.com' }).success).toBe(
      false,
    );
    expect(InstanceDocumentSchema.safeParse({ ...document(), url: 'javascript:alert(1)' }).success).toBe(false);
  });
});

describe('UpdateInstanceDto (PROTOCOL 6)', () => {
  it('name: 1 to 100 characters', () => {
    const ok = (name: string) => UpdateInstanceDtoSchema.safeParse({ name }).success;
    expect([ok('n'.repeat(100)), ok('n'.repeat(99)), ok('n'.repeat(101))]).toEqual([true, true, false]);
    expect([ok('n'), ok(''), ok('   ')]).toEqual([true, false, false]);
  });

  it('metadata: a JSON object of at most 16 KiB', () => {
    expect(JSON.stringify(metadataOf(16_384)).length).toBe(16_384);
    const ok = (metadata: unknown) => UpdateInstanceDtoSchema.safeParse({ metadata }).success;
    expect([ok(metadataOf(16_384)), ok(metadataOf(16_383)), ok(metadataOf(16_385))]).toEqual([true, true, false]);
    expect([ok(['a']), ok('text'), ok(null), ok({ nested: { list: [1, 'two', null, true] } })]).toEqual([
      false,
      false,
      false,
      true,
    ]);
    expect(MetadataSchema.safeParse({ when: new Date() }).success).toBe(false);
  });

  it('capabilities: any subset, each field checked', () => {
    expect(UpdateInstanceDtoSchema.safeParse({ capabilities: { supportsAgentSpawn: false } }).success).toBe(true);
    expect(UpdateInstanceDtoSchema.safeParse({ capabilities: { agentTypes: ['worker', 'worker'] } }).success).toBe(
      false,
    );
    expect(UpdateInstanceDtoSchema.safeParse({ capabilities: { maxConcurrentAgents: -1 } }).success).toBe(false);
    expect(UpdateInstanceDtoSchema.safeParse({ capabilities: { teleport: true } }).success).toBe(false);
  });

  it('rejects unknown fields, such as an attempt to set keys', () => {
    expect(UpdateInstanceDtoSchema.safeParse({ keys: [] }).success).toBe(false);
    expect(UpdateInstanceDtoSchema.safeParse({ instanceId: identity.instanceId }).success).toBe(false);
  });
});

describe('grants (PROTOCOL 3)', () => {
  it('default on accept: all agent commands, the instance agent types and concurrency, 60 and 600 per minute', () => {
    const grants = defaultGrants({ ...DEFAULT_CAPABILITIES, agentTypes: ['reviewer'], maxConcurrentAgents: 2 });
    expect(grants).toEqual({
      allowedCommands: ['agent.spawn', 'agent.status', 'agent.kill', 'agents.list'],
      allowedAgentTypes: ['reviewer'],
      maxConcurrentAgents: 2,
      spawnPerMinute: 60,
      messagesPerMinute: 600,
    });
    expect(GrantsSchema.parse(grants)).toEqual(grants);
  });

  it('a partial update leaves the rate limits it does not name alone', () => {
    expect(UpdateGrantsDtoSchema.parse({ maxConcurrentAgents: 1 })).toEqual({ maxConcurrentAgents: 1 });
    expect(UpdateGrantsDtoSchema.safeParse({ allowedCommands: ['agent.teleport'] }).success).toBe(false);
  });
});
