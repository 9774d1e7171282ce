import { z } from 'zod';
import { WireErrorSchema } from '../errors.js';
import { LIMITS } from '../limits.js';
import {
  AgentIdSchema,
  AgentOptionsSchema,
  AgentSpawnPayloadSchema,
  AgentStateSchema,
  BranchSchema,
  AgentStatusSchema,
  AgentsStatusPayloadSchema,
  IsoDateTimeSchema,
  TaskIdSchema,
} from './agents.js';
import {
  AgentTypeSchema,
  CapabilitiesSchema,
  CompactJwsSchema,
  InstanceIdSchema,
  InstanceNameSchema,
  InstanceUrlSchema,
  KidSchema,
  MetadataSchema,
  PublicJwkSchema,
} from './instance.js';
import { ActorSchema } from './messages.js';
import { AgentOwnerSchema, PersonIdSchema } from './people.js';

/**
 * The success envelope of the instance's own API (PROTOCOL 6): `{ success: true, data }`.
 *
 * @example
 * ```ts
 * const body = apiSuccessSchema(InstanceDocumentSchema).parse(await res.json());
 * ```
 */
export function apiSuccessSchema<T extends z.ZodType>(data: T) {
  return z.strictObject({ success: z.literal(true), data });
}

/** Either envelope of the instance's own API, discriminated by `success`. */
export function apiResponseSchema<T extends z.ZodType>(data: T) {
  return z.discriminatedUnion('success', [apiSuccessSchema(data), WireErrorSchema]);
}

/** `POST /api/v1/federation/connections` body (PROTOCOL 6). */
export const CreateConnectionDtoSchema = z.strictObject({ url: InstanceUrlSchema });
export type CreateConnectionDto = z.infer<typeof CreateConnectionDtoSchema>;

/** The pull request a delivery opens: by default titled by the task, with the summary as its body, onto the spawn's branch. */
export const PullRequestRequestSchema = z.strictObject({
  title: z.string().min(1).max(256).optional(),
  body: z.string().max(LIMITS.instructionsMaxBytes).optional(),
  base: BranchSchema.optional(),
});
export type PullRequestRequest = z.infer<typeof PullRequestRequestSchema>;

/**
 * `options.deliver` of a spawn through the hub's API (docs/protocol.md, "Delivery"): once
 * the agent completes, the hub applies its bundle to `branch` of the repository and pushes
 * it with its own credentials, and may open a pull request. The hub keeps it: the spoke's
 * `agent.spawn` never carries it.
 */
export const DeliveryRequestSchema = z.strictObject({
  branch: BranchSchema,
  pullRequest: z.union([z.boolean(), PullRequestRequestSchema]).default(false),
});
export type DeliveryRequest = z.output<typeof DeliveryRequestSchema>;

/** A spawn payload as the hub's API takes it: `agent.spawn`'s, and `options.deliver`. */
export const HubSpawnPayloadSchema = AgentSpawnPayloadSchema.extend({
  options: AgentOptionsSchema.extend({ deliver: DeliveryRequestSchema.optional() }).default({
    timeout: LIMITS.timeoutDefaultMs,
    maxRetries: LIMITS.maxRetriesDefault,
  }),
}).superRefine((payload, ctx) => {
  if (payload.options.deliver?.branch === payload.context.branch) {
    ctx.addIssue({ code: 'custom', path: ['options', 'deliver', 'branch'], message: "must not be the branch the agent starts from: the work arrives beside it, for review" });
  }
});
export type HubSpawnPayloadInput = z.input<typeof HubSpawnPayloadSchema>;

/** `POST /api/v1/federation/agents/spawn` body (PROTOCOL 6). */
export const SpawnAgentDtoSchema = z.strictObject({
  connectionId: z.uuid(),
  /** The workspace a user spawns in (one they are a member or owner of); an admin's agents are the instance's own. */
  workspaceId: PersonIdSchema.optional(),
  payload: HubSpawnPayloadSchema,
});
export type SpawnAgentDto = z.input<typeof SpawnAgentDtoSchema>;

/**
 * Where a delivery stands: `waiting` (for the agent, or for another try), `delivered`,
 * `failed` (every try failed; `error` says why) or `skipped` (nothing to deliver: the
 * agent did not complete, or changed nothing).
 */
export const DELIVERY_STATES = ['waiting', 'delivered', 'failed', 'skipped'] as const;
export const DeliveryStateSchema = z.enum(DELIVERY_STATES);
export type DeliveryState = z.infer<typeof DeliveryStateSchema>;

/** A pull request a delivery opened. */
export const OpenedPullRequestSchema = z.strictObject({ number: z.number().int().min(1), url: z.string().max(2048) });
export type OpenedPullRequest = z.infer<typeof OpenedPullRequestSchema>;

/** `GET /api/v1/federation/agents/:agentId/delivery`. */
export const AgentDeliverySchema = z.strictObject({
  agentId: AgentIdSchema,
  branch: BranchSchema,
  pullRequested: z.boolean(),
  state: DeliveryStateSchema,
  attempts: z.number().int().min(0),
  /** The commit the branch was pushed at. */
  commit: z.string().nullable(),
  pullRequest: OpenedPullRequestSchema.nullable(),
  error: z.string().nullable(),
  updatedAt: IsoDateTimeSchema,
});
export type AgentDelivery = z.infer<typeof AgentDeliverySchema>;

/**
 * The `Idempotency-Key` header of `POST /api/v1/federation/agents/spawn` (PROTOCOL 6): 1 to
 * 255 visible ASCII characters, such as a UUID. The same key returns the same agent.
 */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters');

/** A page of a paginated list: the items and the cursor of the next page, if any. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** One of the instance's public keys, with its life: `expiresAt` is null for the current key. */
export const InstanceKeySchema = z.strictObject({
  publicJwk: PublicJwkSchema,
  createdAt: IsoDateTimeSchema,
  expiresAt: IsoDateTimeSchema.nullable(),
});
export type InstanceKey = z.infer<typeof InstanceKeySchema>;

/**
 * `GET /api/v1/federation/instance` (PROTOCOL 6): identity and configuration. `keys`
 * starts with the current key, then previous keys inside their grace period. Public keys
 * only, ever.
 */
export const InstanceConfigurationSchema = z.strictObject({
  instanceId: InstanceIdSchema,
  name: InstanceNameSchema,
  url: InstanceUrlSchema,
  capabilities: CapabilitiesSchema,
  metadata: MetadataSchema,
  keys: z.array(InstanceKeySchema).min(1),
  keyRotations: z.array(CompactJwsSchema),
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type InstanceConfiguration = z.infer<typeof InstanceConfigurationSchema>;

/** `POST /api/v1/federation/instance/regenerate-keys` response data (PROTOCOL 4 and 6). */
export const RegenerateKeysResponseSchema = z.strictObject({
  certificate: CompactJwsSchema,
  previousKid: KidSchema,
  currentKid: KidSchema,
  /** When the previous key leaves the instance document. */
  previousKeyExpiresAt: IsoDateTimeSchema,
});
export type RegenerateKeysResponse = z.infer<typeof RegenerateKeysResponseSchema>;

/** Who did something: an admin token, an OIDC user, the CLI, a connected peer, or the instance itself. */
export const AuditActorSchema = z.strictObject({
  type: z.enum(['admin-token', 'oidc', 'cli', 'system', 'peer', 'user', 'a2a-client']),
  id: z.string(),
  label: z.string().optional(),
  /** For a peer: the user (and workspace) of the peer's it said it acted for (`actor`). */
  onBehalfOf: ActorSchema.optional(),
});
export type AuditActor = z.infer<typeof AuditActorSchema>;

/** One audit entry (PROTOCOL 6): who, what, when, before and after. Never a secret. */
export const AuditEntrySchema = z.strictObject({
  id: z.string(),
  at: IsoDateTimeSchema,
  actor: AuditActorSchema,
  action: z.string(),
  target: z.string().nullable(),
  before: z.json().nullable(),
  after: z.json().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/**
 * An admin token as its admins see it (`GET /api/v1/federation/admin-tokens`): never the
 * token, never its hash. `expiresAt` null never expires; `revokedAt` set means it no
 * longer opens anything.
 */
export const AdminTokenSchema = z.strictObject({
  id: z.uuid(),
  label: z.string().min(1).max(100),
  /** A user's token: it signs that user in, not an admin. Absent for an admin token. */
  userId: PersonIdSchema.optional(),
  createdAt: IsoDateTimeSchema,
  expiresAt: IsoDateTimeSchema.nullable(),
  /** Within about a minute: the time is written at most once a minute per token. */
  lastUsedAt: IsoDateTimeSchema.nullable(),
  revokedAt: IsoDateTimeSchema.nullable(),
});
export type AdminToken = z.infer<typeof AdminTokenSchema>;

/** Query of a paginated list: `limit` 1 to 500 (default 50) and an opaque `cursor`. */
export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

/**
 * `GET /api/v1/federation/audit`: a page, and what to keep. `action` keeps that action and
 * those below it (`connection` keeps `connection.accept`); `actor` keeps one actor id or
 * kind (`cli`, `peer`); `since` and `until` bound `at`, both included.
 */
export const AuditQuerySchema = PageQuerySchema.extend({
  action: z
    .string()
    .regex(/^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/, 'an action such as connection.accept, or its first part')
    .max(100)
    .optional(),
  actor: z.string().min(1).max(200).optional(),
  since: IsoDateTimeSchema.optional(),
  until: IsoDateTimeSchema.optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

/** `GET /api/v1/federation/audit` response data: a page of entries, newest first. */
export const AuditPageSchema = pageSchema(AuditEntrySchema);
export type AuditPage = z.infer<typeof AuditPageSchema>;

/**
 * An agent this instance asked a peer to run (the hub's view, PROTOCOL 6): the latest
 * status it knows and the highest event `sequence` it applied (0 before the first).
 */
export const RemoteAgentSchema = z.strictObject({
  agentId: AgentIdSchema,
  connectionId: z.uuid(),
  peerInstanceId: InstanceIdSchema,
  /** The user and workspace it was spawned for; absent for the instance's own (an admin's). */
  owner: AgentOwnerSchema.optional(),
  taskId: TaskIdSchema,
  agentType: AgentTypeSchema,
  status: AgentStatusSchema,
  sequence: z.number().int().min(0),
  createdAt: IsoDateTimeSchema,
});
export type RemoteAgent = z.infer<typeof RemoteAgentSchema>;

/** An agent this instance runs for a peer (the spoke's view, PROTOCOL 6), with its owner. */
export const HostedAgentSchema = z.strictObject({
  agentId: AgentIdSchema,
  connectionId: z.uuid(),
  /** The instance that spawned it: the only one that may see or kill it (PROTOCOL 5). */
  ownerInstanceId: InstanceIdSchema,
  /** The owner's user (and workspace) it was spawned for: only that workspace's messages see it. */
  actor: ActorSchema.optional(),
  /**
   * `a2a` for an agent an A2A client started (docs/protocol.md, "A2A"): then `connectionId`
   * and `ownerInstanceId` are both the client's id. Absent for a peer's.
   */
  via: z.literal('a2a').exactOptional(),
  status: AgentStatusSchema,
  createdAt: IsoDateTimeSchema,
});
export type HostedAgent = z.infer<typeof HostedAgentSchema>;

/**
 * Which agents of an overview to list: each filter narrows both lists (`connectionId` is
 * the connection to the peer that runs a sent agent, or that a hosted agent runs for).
 */
export const AgentFilterSchema = z.strictObject({
  connectionId: z.uuid().optional(),
  status: AgentStateSchema.optional(),
  agentType: AgentTypeSchema.optional(),
  taskId: TaskIdSchema.optional(),
});
export type AgentFilter = z.infer<typeof AgentFilterSchema>;

/**
 * `GET /api/v1/federation/agents?limit=&sentCursor=&hostedCursor=&order=` and the filters
 * (PROTOCOL 6). Each list is in the order of creation, oldest first unless `order=newest`.
 */
export const AgentsOverviewQuerySchema = AgentFilterSchema.extend({
  limit: PageQuerySchema.shape.limit,
  sentCursor: z.string().min(1).max(512).optional(),
  hostedCursor: z.string().min(1).max(512).optional(),
  order: z.enum(['oldest', 'newest']).default('oldest'),
});
export type AgentsOverviewQuery = z.output<typeof AgentsOverviewQuerySchema>;

/** `GET /api/v1/federation/agents` response data: agents sent elsewhere and agents hosted here, each paged. */
export const AgentsOverviewSchema = z.strictObject({
  sent: pageSchema(RemoteAgentSchema),
  hosted: pageSchema(HostedAgentSchema),
});
export type AgentsOverview = z.infer<typeof AgentsOverviewSchema>;

/**
 * `POST /api/v1/federation/agents/statuses`: up to 500 agents this instance sent, their
 * statuses asked from the peers that run them, one `agents.status` per peer.
 */
export const AgentStatusesDtoSchema = AgentsStatusPayloadSchema;
export type AgentStatusesDto = z.infer<typeof AgentStatusesDtoSchema>;

/** `GET /api/v1/federation/agents/:agentId/status?refresh=`. */
export const AgentStatusQuerySchema = z.strictObject({ refresh: z.enum(['true', 'false']).optional() });

/**
 * A host that git credentials are for: a name or address, lower case, with a port where
 * the repository URL has one (`github.com`, `git.example.com:8443`).
 */
export const GitCredentialHostSchema = z
  .string()
  .max(260)
  .regex(/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?$/, 'must be a host name in lower case, with a port if the repositories name one');

/**
 * `PUT /api/v1/federation/git-credentials/:host` body (Node instances): what the spoke's
 * host-side clone answers that host with. Never given to a sandbox, never returned.
 */
export const GitCredentialDtoSchema = z.strictObject({
  username: z.string().min(1).max(256).regex(/^[^\s:]+$/, 'must have no whitespace or colon'),
  password: z.string().min(1).max(4096).regex(/^[^\r\n]+$/, 'must be one line'),
});
export type GitCredentialDto = z.infer<typeof GitCredentialDtoSchema>;

/** A stored git credential as the API shows it: never the password. */
export const GitCredentialSchema = z.strictObject({
  host: GitCredentialHostSchema,
  username: z.string(),
  updatedAt: IsoDateTimeSchema,
});
export type GitCredential = z.infer<typeof GitCredentialSchema>;
