import { z } from 'zod';
import { utf8Length } from '../lib/bytes.js';
import { LIMITS } from '../limits.js';

/** The protocol version string every instance document carries (PROTOCOL 1). */
export const PROTOCOL_VERSION = 'mosaic-federation/1';

/** An instance's permanent id: a UUID chosen at first start (PROTOCOL 1). */
export const InstanceIdSchema = z.uuid();
export type InstanceId = z.infer<typeof InstanceIdSchema>;

/** The agent types of PROTOCOL 5. */
export const AGENT_TYPES = ['worker', 'reviewer', 'tester'] as const;
export const AgentTypeSchema = z.enum(AGENT_TYPES);
export type AgentType = z.infer<typeof AgentTypeSchema>;

const base64url = (length: number) =>
  z
    .string()
    .length(length)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/** A key id: the RFC 7638 SHA-256 thumbprint of the key, base64url without padding. */
export const KidSchema = base64url(43);

/**
 * A public Ed25519 signing key as a JWK (PROTOCOL 1): `kid` is its RFC 7638 thumbprint.
 * Strict, so a JWK carrying a private part (`d`) or any other key type never passes.
 */
export const PublicJwkSchema = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  // 32 bytes of public key, base64url without padding.
  x: base64url(43),
  kid: KidSchema,
  use: z.literal('sig'),
  alg: z.literal('EdDSA'),
});
export type PublicJwk = z.infer<typeof PublicJwkSchema>;

/** What an instance offers its peers (PROTOCOL 1). */
export const CapabilitiesSchema = z.strictObject({
  supportsQuery: z.boolean(),
  supportsCommand: z.boolean(),
  supportsEvent: z.boolean(),
  supportsAgentSpawn: z.boolean(),
  agentTypes: z
    .array(AgentTypeSchema)
    .max(AGENT_TYPES.length)
    .refine((types) => new Set(types).size === types.length, 'must not repeat an agent type'),
  maxConcurrentAgents: z.number().int().min(0).max(10_000),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

/** Capabilities of a freshly initialised instance: everything on, all agent types. */
export const DEFAULT_CAPABILITIES: Capabilities = {
  supportsQuery: true,
  supportsCommand: true,
  supportsEvent: true,
  supportsAgentSpawn: true,
  agentTypes: [...AGENT_TYPES],
  maxConcurrentAgents: 4,
};

/**
 * Instance metadata: a JSON object whose serialisation is at most 16 KiB of UTF-8
 * (PROTOCOL 6).
 */
export const MetadataSchema = z
  .record(z.string(), z.json())
  .refine(
    (value) => utf8Length(JSON.stringify(value)) <= LIMITS.metadataMaxBytes,
    `must be at most ${LIMITS.metadataMaxBytes} bytes of JSON`,
  );
export type Metadata = z.infer<typeof MetadataSchema>;

/** An instance's public address: an absolute http(s) URL without credentials. */
export const InstanceUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((value) => {
    // A value that is no URL at all was reported by `url()` already (zod goes on to the
    // refinements): it must not throw here.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not contain credentials');

export const InstanceNameSchema = z.string().trim().min(1).max(LIMITS.instanceNameMaxLength);

/** A workspace of an instance, as its messages' `actor` names it (opaque to the receiver). */
export const WorkspaceIdSchema = z.string().min(1).max(256);

/** A compact JWS: three base64url parts. Verification happens elsewhere. */
export const CompactJwsSchema = z
  .string()
  .max(LIMITS.maxMessageBytes)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS');

/**
 * `GET /.well-known/mosaic-federation` (PROTOCOL 1). `keys` lists the current key first,
 * then previous keys still inside their grace period.
 */
export const InstanceDocumentSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  instanceId: InstanceIdSchema,
  name: InstanceNameSchema,
  url: InstanceUrlSchema,
  capabilities: CapabilitiesSchema,
  metadata: MetadataSchema,
  keys: z
    .array(PublicJwkSchema)
    .min(1)
    .max(16)
    .refine(
      (keys) => new Set(keys.map((k) => k.kid)).size === keys.length,
      'must not repeat a kid',
    ),
  keyRotations: z.array(CompactJwsSchema).max(1_000),
});
export type InstanceDocument = z.infer<typeof InstanceDocumentSchema>;

/**
 * `PATCH /api/v1/federation/instance` (PROTOCOL 6). Capabilities may be given in part;
 * the fields given replace the stored ones.
 */
export const UpdateInstanceDtoSchema = z.strictObject({
  name: InstanceNameSchema.optional(),
  capabilities: CapabilitiesSchema.partial().optional(),
  metadata: MetadataSchema.optional(),
});
export type UpdateInstanceDto = z.infer<typeof UpdateInstanceDtoSchema>;
