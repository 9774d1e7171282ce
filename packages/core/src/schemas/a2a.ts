// A2A clients (docs/protocol.md, "A2A"): agent clients that speak A2A 1.0 to this instance
// instead of the federation protocol. An admin issues each one a bearer token and grants,
// the same grants a connection has; the instance treats it as it treats a peer.
import { z } from 'zod';
import { IsoDateTimeSchema } from './agents.js';
import { GrantsSchema, UpdateGrantsDtoSchema } from './connections.js';

/** The `sub` of an OIDC access token. */
const OidcSubjectSchema = z.string().min(1).max(255);

/** What an admin calls an A2A client. */
export const A2AClientNameSchema = z.string().trim().min(1).max(100);

/**
 * An A2A client as its admins see it (`GET /api/v1/federation/a2a-clients`): never its
 * token, never the token's hash. `revokedAt` set means its token no longer opens anything.
 */
export const A2AClientSchema = z.strictObject({
  id: z.uuid(),
  name: A2AClientNameSchema,
  grants: GrantsSchema,
  /**
   * The `sub` of the OIDC access tokens (from the instance's configured issuer, for its
   * audience) that sign this client in, beside its own token. One client per subject.
   */
  oidcSubject: OidcSubjectSchema.exactOptional(),
  createdAt: IsoDateTimeSchema,
  /** Within about a minute: the time is written at most once a minute per client. */
  lastUsedAt: IsoDateTimeSchema.nullable(),
  revokedAt: IsoDateTimeSchema.nullable(),
});
export type A2AClient = z.infer<typeof A2AClientSchema>;

/**
 * `POST /api/v1/federation/a2a-clients`: a name, and the grants where they differ from a
 * new connection's (every agent command, the instance's agent types and concurrency).
 */
export const CreateA2AClientDtoSchema = z.strictObject({
  name: A2AClientNameSchema,
  grants: UpdateGrantsDtoSchema.optional(),
  oidcSubject: OidcSubjectSchema.optional(),
});
export type CreateA2AClientDto = z.infer<typeof CreateA2AClientDtoSchema>;

/**
 * `PATCH /api/v1/federation/a2a-clients/:id`: a new name, grants changed as a connection's
 * are, or another OIDC subject (`null`: none).
 */
export const UpdateA2AClientDtoSchema = z
  .strictObject({ name: A2AClientNameSchema, grants: UpdateGrantsDtoSchema, oidcSubject: OidcSubjectSchema.nullable() })
  .partial()
  .refine((dto) => dto.name !== undefined || dto.grants !== undefined || dto.oidcSubject !== undefined, 'name the name, grants or OIDC subject to change');
export type UpdateA2AClientDto = z.infer<typeof UpdateA2AClientDtoSchema>;

/** `POST /api/v1/federation/a2a-clients` response data: the client, and its token, shown this once. */
export const A2AClientCreatedSchema = z.strictObject({
  client: A2AClientSchema,
  /** The bearer token the client sends (`Authorization: Bearer mfc_…`). Stored only as a hash. */
  token: z.string(),
});
export type A2AClientCreated = z.infer<typeof A2AClientCreatedSchema>;

/**
 * An A2A agent elsewhere that this instance starts agents on (`GET
 * /api/v1/federation/a2a-agents`): its id goes where a connection's does when spawning.
 * Never the token sent to it.
 */
export const A2AAgentSchema = z.strictObject({
  id: z.uuid(),
  /** Its card's name. */
  name: z.string(),
  cardUrl: z.string(),
  /** The interface it is called at, and its binding. */
  endpoint: z.string(),
  binding: z.enum(['JSONRPC', 'HTTP+JSON']),
  /** Whether a bearer token is sent to it. */
  sendsToken: z.boolean(),
  createdAt: IsoDateTimeSchema,
});
export type A2AAgent = z.infer<typeof A2AAgentSchema>;

/**
 * `POST /api/v1/federation/a2a-agents`: where its card is (the card's URL, or the agent's
 * base URL, to which `/.well-known/agent-card.json` is added), and the token it issued
 * this instance, if it asks for one.
 */
export const AddA2AAgentDtoSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2_048),
  token: z.string().min(1).max(4_096).regex(/^[^\s]+$/, 'must have no whitespace').optional(),
});
export type AddA2AAgentDto = z.infer<typeof AddA2AAgentDtoSchema>;
