import { z } from 'zod';
import { utf8Length } from '../lib/bytes.js';
import { explainInvalidBranchName } from '../lib/git-ref.js';
import { LIMITS } from '../limits.js';
import { AgentTypeSchema } from './instance.js';

/** The agent lifecycle states (PROTOCOL 5, "Lifecycle"). */
export const AGENT_STATES = ['spawning', 'running', 'waiting', 'completed', 'failed', 'killed'] as const;
export const AgentStateSchema = z.enum(AGENT_STATES);
export type AgentState = z.infer<typeof AgentStateSchema>;

export const AgentIdSchema = z.uuid();
export const IsoDateTimeSchema = z.iso.datetime({ offset: true });

export const TaskIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.taskIdMaxLength)
  .regex(/^[A-Za-z0-9._:-]+$/, 'may only contain letters, digits and . _ : -');

// A URL (https://, http://, ssh://, git://, file://), a host/path
// (git.example.com/org/repo) or an scp-like address (git@host:org/repo).
const REPOSITORY_URL = /^(?:https?|ssh|git|file):\/\/\S+$/;
const REPOSITORY_HOST_PATH = /^[A-Za-z0-9][A-Za-z0-9.-]*(?::\d{1,5})?(?:\/[^/\s]+)+\/?$/;
const REPOSITORY_SCP = /^[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:[^\s]+$/;
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;
// Userinfo of an http(s) or git URL is a credential (a token is often the user name);
// an ssh user name is an account, but a password beside it is a credential too.
const CREDENTIAL_USERINFO = /^(?:(?:https?|git):\/\/[^/]*@|(?:ssh:\/\/)?[^/@:]+:[^/@]*@)/i;
// A `.` or `..` segment, written plainly or percent-encoded, and a backslash (which URL
// parsers read as `/`): the clone would resolve them, so the repository fetched would not
// be the one the connection's `repositories` patterns were matched against.
const DOT_SEGMENT_OR_BACKSLASH = /(?:^|[/:])(?:\.|%2e){1,2}(?:[/?#]|$)|\\/i;

/**
 * The repository an agent works on: at most 512 characters, no whitespace or control
 * characters, never starting with `-` (so it can never be read as a git option).
 */
export const RepositorySchema = z
  .string()
  .min(1)
  .max(LIMITS.repositoryMaxLength)
  .refine((value) => !value.startsWith('-'), 'must not begin with "-"')
  .refine((value) => !WHITESPACE_OR_CONTROL.test(value), 'must not contain whitespace or control characters')
  .refine((value) => !CREDENTIAL_USERINFO.test(value), 'must not carry credentials: the spoke holds them')
  .refine((value) => !DOT_SEGMENT_OR_BACKSLASH.test(value), 'must not contain "." or ".." path segments or backslashes')
  .refine(
    (value) =>
      REPOSITORY_URL.test(value) || REPOSITORY_HOST_PATH.test(value) || REPOSITORY_SCP.test(value),
    'must be a URL or a host/path',
  );

/** A branch: a valid git ref name (git check-ref-format --branch), at most 255 characters. */
export const BranchSchema = z
  .string()
  .max(LIMITS.branchMaxLength)
  .superRefine((value, ctx) => {
    const reason = explainInvalidBranchName(value);
    if (reason !== undefined) {
      ctx.addIssue({ code: 'custom', message: `is not a valid git branch name: it ${reason}` });
    }
  });

export const AgentContextSchema = z.strictObject({
  repository: RepositorySchema,
  branch: BranchSchema,
  workItems: z
    .array(z.string().min(1).max(LIMITS.workItemMaxLength))
    .max(LIMITS.workItemsMaxCount)
    .default([]),
  instructions: z
    .string()
    .refine(
      (value) => utf8Length(value) <= LIMITS.instructionsMaxBytes,
      `must be at most ${LIMITS.instructionsMaxBytes} bytes`,
    )
    .default(''),
});

export const AgentOptionsSchema = z.strictObject({
  timeout: z
    .number()
    .int()
    .min(LIMITS.timeoutMinMs)
    .max(LIMITS.timeoutMaxMs)
    .default(LIMITS.timeoutDefaultMs),
  maxRetries: z.number().int().min(0).max(LIMITS.maxRetriesMax).default(LIMITS.maxRetriesDefault),
  /**
   * PROTOCOL 5, Approvals: `plan` makes the agent propose its plan and wait for the hub's
   * `agent.respond` before it runs a command or changes a file. Left out: `none`.
   */
  approval: z.enum(['none', 'plan']).exactOptional(),
});

/** `agent.spawn` payload (PROTOCOL 5). Unknown fields are rejected at every level. */
export const AgentSpawnPayloadSchema = z.strictObject({
  taskId: TaskIdSchema,
  agentType: AgentTypeSchema,
  context: AgentContextSchema,
  options: AgentOptionsSchema.default({
    timeout: LIMITS.timeoutDefaultMs,
    maxRetries: LIMITS.maxRetriesDefault,
  }),
});
/** A spawn payload as sent: defaults may be left out. */
export type AgentSpawnPayloadInput = z.input<typeof AgentSpawnPayloadSchema>;
/** A spawn payload after validation: every default filled in. */
export type AgentSpawnPayload = z.output<typeof AgentSpawnPayloadSchema>;

/** `agent.spawn` response data (PROTOCOL 5). */
export const AgentSpawnResponseSchema = z.strictObject({
  agentId: AgentIdSchema,
  state: z.literal('spawning'),
  spawnedAt: IsoDateTimeSchema,
});
export type AgentSpawnResponse = z.infer<typeof AgentSpawnResponseSchema>;

/** `agent.status` and `agent.kill` payload. */
export const AgentRefPayloadSchema = z.strictObject({ agentId: AgentIdSchema });
export type AgentRefPayload = z.infer<typeof AgentRefPayloadSchema>;

/** An amount of money: what the spoke's price table makes of some tokens (docs/protocol.md, "Budgets"). */
export const EstimatedCostSchema = z.strictObject({
  amount: z.number().min(0).max(1e12),
  /** ISO 4217, such as `USD`. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as USD'),
});
export type EstimatedCost = z.infer<typeof EstimatedCostSchema>;

/**
 * Model token counts of an agent's run, its attempts together, with what the spoke's
 * price table makes of them when it has one (`estimatedCost`).
 */
export const AgentUsageSchema = z.strictObject({
  inputTokens: z.number().int().min(0),
  outputTokens: z.number().int().min(0),
  cacheReadInputTokens: z.number().int().min(0).optional(),
  cacheCreationInputTokens: z.number().int().min(0).optional(),
  estimatedCost: EstimatedCostSchema.optional(),
});
export type AgentUsage = z.infer<typeof AgentUsageSchema>;

export const AgentProgressSchema = z.strictObject({
  turns: z.number().int().min(0),
  lastAction: z.string().max(1_000).optional(),
  /** The model tokens used so far, updated with the progress (docs/protocol.md, "Budgets"). */
  usage: AgentUsageSchema.optional(),
});
export type AgentProgress = z.infer<typeof AgentProgressSchema>;

/** Every input token of a run, read from the prompt cache, written to it, or neither. */
export function inputTokensOf(usage: AgentUsage): number {
  return usage.inputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheCreationInputTokens ?? 0);
}

/** Every token of a run: input (cached or not) and output. */
export function tokensOf(usage: AgentUsage): number {
  return inputTokensOf(usage) + usage.outputTokens;
}

/**
 * What an agent used as far as its status says (every attempt so far): its result's usage
 * once it completed, else its progress's; `undefined` before its first model turn.
 */
export function usageOf(status: { progress: AgentProgress | null; result: { usage?: AgentUsage | undefined } | null }): AgentUsage | undefined {
  return status.result?.usage ?? status.progress?.usage;
}

export const AgentArtifactSchema = z.strictObject({
  name: z.string().min(1).max(256),
  mediaType: z.string().max(128).optional(),
  content: z.string(),
});
export type AgentArtifact = z.infer<typeof AgentArtifactSchema>;

/** A hex SHA-256 digest. */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in lowercase hex');

/**
 * The git bundle of a worker's commits (docs/protocol.md, "Bundles"): binary files, renames
 * and modes kept. The spoke keeps it; the owner reads it with `agent.bundle`, in chunks,
 * and checks it against this digest and size.
 */
export const AgentBundleRefSchema = z.strictObject({
  sha256: Sha256HexSchema,
  bytes: z.number().int().min(1).max(LIMITS.bundleMaxBytes),
  /** The branch the bundle's one ref names: `refs/heads/<branch>`, a valid ref name (a reader builds refspecs of it). */
  branch: BranchSchema,
  /** The commit the agent started from: the bundle's prerequisite. */
  base: z.string().regex(/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/, 'a commit id'),
});
export type AgentBundleRef = z.infer<typeof AgentBundleRefSchema>;

/**
 * What a completed agent's work came to, from what happened in its sandbox rather than
 * from the model's words: `succeeded` (changes made, or for a tester and a reviewer the
 * work done, and every check passing at its last run), `no-changes` (a worker that changed
 * nothing), `checks-failing` (a check's last run failed), `unchecked` (no check was run).
 */
export const AgentOutcomeSchema = z.enum(['succeeded', 'no-changes', 'checks-failing', 'unchecked']);
export type AgentOutcome = z.infer<typeof AgentOutcomeSchema>;

/** A command the agent ran to check its work (tests, a build, a linter), as it last ran. */
export const AgentCheckSchema = z.strictObject({
  command: z.string().max(1_000),
  exitCode: z.number().int(),
  timedOut: z.boolean().optional(),
});
export type AgentCheck = z.infer<typeof AgentCheckSchema>;

/**
 * What a completed agent produced (PROTOCOL 5): `patch` is a unified diff, left out when
 * it is too large for a message (the bundle then carries the work); `bundle`, `outcome`
 * and `checks` are additions of this implementation (docs/protocol.md).
 */
export const AgentResultSchema = z.strictObject({
  summary: z.string(),
  patch: z.string().optional(),
  bundle: AgentBundleRefSchema.optional(),
  artifacts: z.array(AgentArtifactSchema).max(100).optional(),
  usage: AgentUsageSchema.optional(),
  outcome: AgentOutcomeSchema.optional(),
  checks: z.array(AgentCheckSchema).max(50).optional(),
});
export type AgentResult = z.infer<typeof AgentResultSchema>;

/**
 * What an agent in `waiting` asks a person to decide (PROTOCOL 5, Approvals): its plan,
 * or a tool use the spoke's rules hold for approval. Answered with `agent.respond`.
 */
export const PendingApprovalSchema = z.strictObject({
  id: z.string().min(1).max(128),
  kind: z.string().min(1).max(64),
  summary: z.string().max(4_000),
  details: z.json().optional(),
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

/** A person's answer to a pending approval: go on, or do not (PROTOCOL 5, Approvals). */
export const ApprovalDecisionSchema = z.enum(['approve', 'reject']);
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/** What the hub tells an agent about its pending approval, besides which agent it is. */
export const ApprovalAnswerSchema = z.strictObject({
  approvalId: PendingApprovalSchema.shape.id,
  decision: ApprovalDecisionSchema,
  /** Said to the agent with the decision: what to change in a rejected plan, say. */
  note: z.string().max(4_000).optional(),
});
export type ApprovalAnswer = z.infer<typeof ApprovalAnswerSchema>;

/** `agent.respond` payload (PROTOCOL 5, Approvals): same ownership rule as `agent.kill`. */
export const AgentRespondPayloadSchema = z.strictObject({
  agentId: AgentIdSchema,
  ...ApprovalAnswerSchema.shape,
});
export type AgentRespondPayload = z.infer<typeof AgentRespondPayloadSchema>;

/**
 * `agent.respond` response data (docs/protocol.md): the answer as the spoke took it. The
 * agent goes on (`running`) once it reads the answer; its status events say so.
 */
export const AgentRespondResponseSchema = z.strictObject({
  agentId: AgentIdSchema,
  approvalId: PendingApprovalSchema.shape.id,
  decision: ApprovalDecisionSchema,
  answeredAt: IsoDateTimeSchema,
});
export type AgentRespondResponse = z.infer<typeof AgentRespondResponseSchema>;

/** `agent.status` response data (PROTOCOL 5). */
export const AgentStatusSchema = z.strictObject({
  agentId: AgentIdSchema,
  taskId: TaskIdSchema,
  agentType: AgentTypeSchema,
  status: AgentStateSchema,
  attempt: z.number().int().min(1),
  spawnedAt: IsoDateTimeSchema,
  startedAt: IsoDateTimeSchema.nullable(),
  completedAt: IsoDateTimeSchema.nullable(),
  progress: AgentProgressSchema.nullable(),
  result: AgentResultSchema.nullable(),
  error: z.string().nullable(),
  /** While `waiting`: what the agent waits for a person's answer to (PROTOCOL 5, Approvals). */
  pendingApproval: PendingApprovalSchema.exactOptional(),
});
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

/** `agent.kill` response data (PROTOCOL 5). */
export const AgentKillResponseSchema = z.strictObject({
  agentId: AgentIdSchema,
  status: z.literal('killed'),
  killedAt: IsoDateTimeSchema,
});
export type AgentKillResponse = z.infer<typeof AgentKillResponseSchema>;

/** `agents.list` query payload (PROTOCOL 5): the sender's own agents only. */
export const AgentsListPayloadSchema = z.strictObject({
  status: AgentStateSchema.optional(),
  taskId: TaskIdSchema.optional(),
  limit: z.number().int().min(1).max(LIMITS.listLimitMax).optional(),
  cursor: z.string().min(1).max(512).optional(),
});
export type AgentsListPayload = z.infer<typeof AgentsListPayloadSchema>;

/**
 * `agents.status` query payload (docs/protocol.md, "Many statuses at once"): up to 500
 * distinct agent ids, the sender's own agents' statuses in one signed message.
 */
export const AgentsStatusPayloadSchema = z.strictObject({
  agentIds: z
    .array(AgentIdSchema)
    .min(1)
    .max(LIMITS.listLimitMax)
    .refine((ids) => new Set(ids).size === ids.length, 'each agent id at most once'),
});
export type AgentsStatusPayload = z.infer<typeof AgentsStatusPayloadSchema>;

/**
 * `agents.status` response data: the statuses of the sender's agents among the ids, in
 * the order asked, and the ids that are not (missing, or another's: PROTOCOL 5's
 * ownership rule, one answer for both).
 */
export const AgentsStatusResponseSchema = z.strictObject({
  agents: z.array(AgentStatusSchema),
  notFound: z.array(AgentIdSchema),
});
export type AgentsStatusResponse = z.infer<typeof AgentsStatusResponseSchema>;

/** The `agents.status` answer to `agentIds`: the statuses `found` in the order asked, the other ids in `notFound`. */
export function agentsStatusAnswer(agentIds: readonly string[], found: ReadonlyMap<string, AgentStatus>): AgentsStatusResponse {
  return {
    agents: agentIds.flatMap((agentId) => {
      const status = found.get(agentId);
      return status === undefined ? [] : [status];
    }),
    notFound: agentIds.filter((agentId) => !found.has(agentId)),
  };
}

/** `agents.list` response data: a page of agents and the cursor of the next page. */
export const AgentsListResponseSchema = z.strictObject({
  agents: z.array(AgentStatusSchema),
  nextCursor: z.string().nullable(),
});
export type AgentsListResponse = z.infer<typeof AgentsListResponseSchema>;

/**
 * One entry of an agent's transcript: a setup step or a tool call with its clipped input
 * and output, the model's text, or a note of what the runner did (a retry, a cleared context). `index`
 * counts from 1 over the agent's whole run, attempts included.
 */
export const TranscriptEntrySchema = z.strictObject({
  index: z.number().int().min(1),
  attempt: z.number().int().min(1),
  turn: z.number().int().min(0),
  at: IsoDateTimeSchema,
  kind: z.enum(['setup', 'tool', 'text', 'note']),
  /** For a `tool` entry: `bash` or `str_replace_based_edit_tool`. */
  tool: z.string().max(64).optional(),
  /** The command, the edit, or the text: at most 2,000 characters. */
  input: z.string().max(2_000),
  /** What the tool answered: at most 4,000 characters. */
  output: z.string().max(4_000).optional(),
  isError: z.boolean().optional(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntrySchema>;

/** `agent.transcript` query payload: the agent, and where the page starts. */
export const AgentTranscriptPayloadSchema = z.strictObject({
  agentId: AgentIdSchema,
  limit: z.number().int().min(1).max(LIMITS.listLimitMax).optional(),
  cursor: z.string().regex(/^\d{1,9}$/, 'a cursor this instance gave').optional(),
});
export type AgentTranscriptPayload = z.infer<typeof AgentTranscriptPayloadSchema>;

/** `agent.transcript` response data: a page of entries, oldest first, and the cursor of the next. */
export const AgentTranscriptResponseSchema = z.strictObject({
  agentId: AgentIdSchema,
  entries: z.array(TranscriptEntrySchema),
  nextCursor: z.string().nullable(),
});
export type AgentTranscriptResponse = z.infer<typeof AgentTranscriptResponseSchema>;

/** `agent.bundle` query payload: which agent, and where in its bundle the chunk starts. */
export const AgentBundlePayloadSchema = z.strictObject({
  agentId: AgentIdSchema,
  offset: z.number().int().min(0).max(LIMITS.bundleMaxBytes),
  /** At most this many bytes; default and upper bound {@link LIMITS.bundleChunkBytes}. */
  length: z.number().int().min(1).max(LIMITS.bundleChunkBytes).optional(),
});
export type AgentBundlePayload = z.infer<typeof AgentBundlePayloadSchema>;

/**
 * `agent.bundle` response data: a chunk of the bundle (`data`, base64url) from `offset`,
 * with the whole bundle's digest and size, so the reader knows what it is assembling.
 */
export const AgentBundleResponseSchema = z.strictObject({
  agentId: AgentIdSchema,
  sha256: Sha256HexSchema,
  bytes: z.number().int().min(1).max(LIMITS.bundleMaxBytes),
  offset: z.number().int().min(0).max(LIMITS.bundleMaxBytes),
  data: z
    .string()
    .max(Math.ceil((LIMITS.bundleChunkBytes * 4) / 3))
    .regex(/^[A-Za-z0-9_-]*$/, 'base64url'),
});
export type AgentBundleResponse = z.infer<typeof AgentBundleResponseSchema>;

/**
 * `agent.status.changed` event payload (PROTOCOL 5): the status plus a `sequence` that
 * grows by one per agent, so the hub can drop duplicates and stale updates.
 */
export const AgentStatusChangedPayloadSchema = AgentStatusSchema.extend({
  sequence: z.number().int().min(1),
});
export type AgentStatusChangedPayload = z.infer<typeof AgentStatusChangedPayloadSchema>;
