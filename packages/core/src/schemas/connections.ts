import { z } from 'zod';
import { LIMITS } from '../limits.js';
import { EgressRuleSchema } from '../egress.js';
import { RepositoryPatternSchema } from '../repositories.js';
import { IsoDateTimeSchema } from './agents.js';
import {
  AGENT_TYPES,
  AgentTypeSchema,
  CapabilitiesSchema,
  InstanceIdSchema,
  InstanceNameSchema,
  InstanceUrlSchema,
  KidSchema,
  MetadataSchema,
  PublicJwkSchema,
  WorkspaceIdSchema,
  type Capabilities,
} from './instance.js';

/** Connection states (PROTOCOL 3). */
export const CONNECTION_STATUSES = [
  'PENDING',
  'ACTIVE',
  'SUSPENDED',
  'DISCONNECTED',
  'REJECTED',
] as const;
export const ConnectionStatusSchema = z.enum(CONNECTION_STATUSES);
export type ConnectionStatus = z.infer<typeof ConnectionStatusSchema>;

/** Who asked first, for a `PENDING` connection. */
export const ConnectionDirectionSchema = z.enum(['outgoing', 'incoming']);
export type ConnectionDirection = z.infer<typeof ConnectionDirectionSchema>;

/**
 * The agent commands (`COMMAND`) of PROTOCOL 5 that a connection's grants name. `agent.respond`
 * is not among them: it is allowed with `agent.spawn` (docs/protocol.md, "Approvals"), as a
 * peer that may start an agent must be able to answer what its agent asks.
 */
export const AGENT_COMMAND_TYPES = ['agent.spawn', 'agent.status', 'agent.kill'] as const;
export const AgentCommandTypeSchema = z.enum(AGENT_COMMAND_TYPES);
export type AgentCommandType = z.infer<typeof AgentCommandTypeSchema>;

/** Every agent command of PROTOCOL 5: the granted ones, and `agent.respond`. */
export const COMMAND_TYPES = [...AGENT_COMMAND_TYPES, 'agent.respond'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/**
 * The queries (`QUERY`) of PROTOCOL 5, and `agents.status`, `agent.transcript` and
 * `agent.bundle` (docs/protocol.md), which read one's own agents as `agent.status` does and
 * are allowed with it.
 */
export const QUERY_TYPES = ['agents.list', 'agents.status', 'agent.transcript', 'agent.bundle'] as const;
export const QueryTypeSchema = z.enum(QUERY_TYPES);
export type QueryType = z.infer<typeof QueryTypeSchema>;

/** Everything a grant can allow: the agent commands and `agents.list`. */
export const GRANTABLE_TYPES = [...AGENT_COMMAND_TYPES, 'agents.list'] as const;
export const GrantableTypeSchema = z.enum(GRANTABLE_TYPES);
export type GrantableType = z.infer<typeof GrantableTypeSchema>;

const uniqueList = <T extends z.ZodType<string>>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((values) => new Set(values).size === values.length, 'must not repeat an entry');

/**
 * Tool use that waits for the hub's approval: words a bash command's step starts with,
 * where `*` stands for any text (`npm install*`, `git push`), or `@network` for the
 * programs that reach the network (docs/protocol.md, "Approvals").
 */
export const CommandPatternSchema = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value) && value.trim() === value, 'must be one line without leading or trailing spaces');

/**
 * The approval rules of a connection (PROTOCOL 3 and 5): `plan` makes every agent of the
 * peer propose its plan and wait for approval, whatever its spawn asked; a bash command a
 * step of which matches one of `commands` waits for approval before it runs.
 */
export const ApprovalRulesSchema = z.strictObject({
  plan: z.boolean().exactOptional(),
  commands: z
    .array(CommandPatternSchema)
    .max(LIMITS.approvalCommandsMax)
    .refine((values) => new Set(values).size === values.length, 'must not repeat an entry')
    .exactOptional(),
});
export type ApprovalRules = z.infer<typeof ApprovalRulesSchema>;

const grantFields = {
  allowedCommands: uniqueList(GrantableTypeSchema, GRANTABLE_TYPES.length),
  allowedAgentTypes: uniqueList(AgentTypeSchema, AGENT_TYPES.length),
  maxConcurrentAgents: z.number().int().min(0).max(10_000),
  spawnPerMinute: z.number().int().min(0).max(100_000),
  messagesPerMinute: z.number().int().min(0).max(1_000_000),
  /**
   * The repositories the peer's agents may fetch, as patterns (`https://github.com/acme/*`).
   * Left out: the instance's own repository policy (by default any public `https` host).
   */
  repositories: uniqueList(RepositoryPatternSchema, LIMITS.repositoryPatternsMax),
  /**
   * The hosts the peer's agents' sandboxes may reach through the egress proxy, beside the
   * instance's own egress rules (`registry.npmjs.org`, `*.example.com:8443`). Left out: none.
   */
  egress: uniqueList(EgressRuleSchema, LIMITS.egressRulesMax),
  /**
   * Budgets (PROTOCOL 3), per UTC day: the model tokens the peer's agents here may use
   * (cache tokens included), and their minutes of running. Left out: no limit. A spawn
   * once the day's budget is used up is `BUDGET_EXHAUSTED`, with `Retry-After` until midnight UTC.
   */
  tokensPerDay: z.number().int().min(0).max(1_000_000_000_000),
  agentMinutesPerDay: z.number().int().min(0).max(10_000_000),
  /**
   * The most model tokens one of the peer's agents may use, all its attempts together:
   * it stops at the model turn that reaches them, and ends `failed` saying so. Left out: no limit.
   */
  maxTokensPerAgent: z.number().int().min(1).max(1_000_000_000_000),
  /** What waits for the hub's approval (PROTOCOL 5, Approvals). Left out: only what a spawn asks for. */
  approvals: ApprovalRulesSchema,
};

/**
 * What one of the peer's workspaces (the `actor.workspaceId` of its messages) may do: a
 * narrowing of the connection's grants, never more. A field left out is the connection's.
 */
export const WorkspaceGrantsSchema = z.strictObject({
  allowedAgentTypes: grantFields.allowedAgentTypes.exactOptional(),
  /** Of the connection's agents at once, how many this workspace's may be. */
  maxConcurrentAgents: grantFields.maxConcurrentAgents.exactOptional(),
  /** Repositories this workspace's agents may fetch, besides matching the connection's own. */
  repositories: grantFields.repositories.exactOptional(),
});
export type WorkspaceGrants = z.infer<typeof WorkspaceGrantsSchema>;

/** Grants per peer workspace, by workspace id. */
const workspaceGrantsField = z
  .record(WorkspaceIdSchema, WorkspaceGrantsSchema)
  .refine((workspaces) => Object.keys(workspaces).length <= LIMITS.workspaceGrantsMax, `at most ${LIMITS.workspaceGrantsMax} workspaces`);

/**
 * What the receiving admin allows a peer to do on a connection (PROTOCOL 3). Deny by
 * default: a command type or agent type not listed is `FORBIDDEN`. `workspaces` narrows
 * them for the messages sent for one of the peer's workspaces.
 */
export const GrantsSchema = z.strictObject({
  ...grantFields,
  repositories: grantFields.repositories.exactOptional(),
  egress: grantFields.egress.exactOptional(),
  tokensPerDay: grantFields.tokensPerDay.exactOptional(),
  agentMinutesPerDay: grantFields.agentMinutesPerDay.exactOptional(),
  maxTokensPerAgent: grantFields.maxTokensPerAgent.exactOptional(),
  approvals: grantFields.approvals.exactOptional(),
  workspaces: workspaceGrantsField.exactOptional(),
  spawnPerMinute: grantFields.spawnPerMinute.default(LIMITS.spawnPerMinuteDefault),
  messagesPerMinute: grantFields.messagesPerMinute.default(LIMITS.messagesPerMinuteDefault),
});
export type Grants = z.output<typeof GrantsSchema>;

/**
 * `PATCH /api/v1/federation/connections/:id`: any subset of the grants. Built from the
 * fields without defaults, so a field left out keeps its stored value; `repositories: null`
 * goes back to the instance's repository policy, `egress: null` (or `[]`) to the
 * instance's egress rules alone, and `workspaces: null` (or `{}`) to the same grants for
 * every workspace of the peer.
 */
export const UpdateGrantsDtoSchema = z
  .strictObject({
    ...grantFields,
    repositories: grantFields.repositories.nullable(),
    egress: grantFields.egress.nullable(),
    /** `null`: no limit. */
    tokensPerDay: grantFields.tokensPerDay.nullable(),
    agentMinutesPerDay: grantFields.agentMinutesPerDay.nullable(),
    maxTokensPerAgent: grantFields.maxTokensPerAgent.nullable(),
    /** `null`: no rules of the connection's own. */
    approvals: grantFields.approvals.nullable(),
    /** Replaces every workspace's grants; `null` (or `{}`) removes them. */
    workspaces: workspaceGrantsField.nullable(),
  })
  .partial();
export type UpdateGrantsDto = z.infer<typeof UpdateGrantsDtoSchema>;

/**
 * Grants after an update: a field left out keeps its value; `null` (and an empty list or
 * map, and approval rules that hold nothing) removes an optional grant.
 */
export function applyGrantsUpdate(current: Grants, dto: UpdateGrantsDto): Grants {
  const { repositories, egress, workspaces, tokensPerDay, agentMinutesPerDay, maxTokensPerAgent, approvals, ...rest } = {
    ...current,
    ...Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== undefined)),
  };
  return {
    ...rest,
    ...(repositories === null || repositories === undefined ? {} : { repositories }),
    ...(egress === null || egress === undefined || egress.length === 0 ? {} : { egress }),
    ...(workspaces === null || workspaces === undefined || Object.keys(workspaces).length === 0 ? {} : { workspaces }),
    ...(tokensPerDay === null || tokensPerDay === undefined ? {} : { tokensPerDay }),
    ...(agentMinutesPerDay === null || agentMinutesPerDay === undefined ? {} : { agentMinutesPerDay }),
    ...(maxTokensPerAgent === null || maxTokensPerAgent === undefined ? {} : { maxTokensPerAgent }),
    ...(approvals === null || approvals === undefined || (approvals.plan !== true && (approvals.commands ?? []).length === 0) ? {} : { approvals }),
  };
}

/**
 * The grants a connection gets when accepted (PROTOCOL 3): every agent command, the
 * instance's agent types and its concurrency.
 */
export function defaultGrants(capabilities: Capabilities): Grants {
  return {
    allowedCommands: [...GRANTABLE_TYPES],
    allowedAgentTypes: [...capabilities.agentTypes],
    maxConcurrentAgents: capabilities.maxConcurrentAgents,
    spawnPerMinute: LIMITS.spawnPerMinuteDefault,
    messagesPerMinute: LIMITS.messagesPerMinuteDefault,
  };
}

/** A peer key that a rotation replaced, and how long it is still trusted (PROTOCOL 4). */
export const ReplacedKeySchema = z.strictObject({ kid: KidSchema, trustedUntil: IsoDateTimeSchema });
export type ReplacedKey = z.infer<typeof ReplacedKeySchema>;

/**
 * A connection as an instance's admins see it (PROTOCOL 3 and 6): the peer as pinned
 * (id, URL, keys), its public facts, the state, and what this instance grants the peer.
 */
export const ConnectionSchema = z.strictObject({
  id: z.uuid(),
  peerInstanceId: InstanceIdSchema,
  peerUrl: InstanceUrlSchema,
  peerName: InstanceNameSchema,
  status: ConnectionStatusSchema,
  /** Who asked first. */
  direction: ConnectionDirectionSchema,
  grants: GrantsSchema,
  peerCapabilities: CapabilitiesSchema,
  peerMetadata: MetadataSchema,
  peerKeys: z.array(PublicJwkSchema).min(1),
  /**
   * Keys the peer has replaced (PROTOCOL 4): each is trusted until `trustedUntil` (its
   * rotation certificate's `iat` plus 24 hours), then unpinned, and never trusted again.
   */
  replacedPeerKeys: z.array(ReplacedKeySchema).max(LIMITS.replacedKeysKept),
  /**
   * Whether the instance document at `peerUrl` names this peer with the same keys
   * (PROTOCOL 3, step 2). True for a connection this instance asked for at that URL; for a
   * request from a peer, what the check found when the request arrived. Only a request
   * whose URL vouches for it may be auto-accepted.
   */
  peerUrlVouches: z.boolean(),
  /**
   * When the peer last refused this instance's message with `CONNECTION_NOT_ACTIVE`: it
   * has paused (or ended) the connection on its side, which PROTOCOL 3 lets it do without
   * a word. Absent once it accepts a message again, and while no refusal was seen.
   */
  peerPausedAt: IsoDateTimeSchema.optional(),
  /**
   * When this instance last heard from the peer: a verified message from it that this
   * instance took, or the peer's answer taking one of this instance's own. Noted to the minute (at most one write a minute);
   * absent until the peer is first heard from.
   */
  peerSeenAt: IsoDateTimeSchema.optional(),
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type Connection = z.infer<typeof ConnectionSchema>;

/** Response data of every connection message: the state the receiver now holds. */
export const ConnectionReplySchema = z.strictObject({ status: ConnectionStatusSchema });
export type ConnectionReply = z.infer<typeof ConnectionReplySchema>;

/** `GET /api/v1/federation/connections?status=`. */
export const ConnectionsQuerySchema = z.strictObject({ status: ConnectionStatusSchema.optional() });
