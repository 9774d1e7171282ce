// The A2A 1.0 wire (its ProtoJSON form, as JSON-RPC and HTTP+JSON carry it): what this
// instance reads from A2A clients and writes to them (docs/protocol.md, "A2A"). Objects
// are loose where A2A may add fields (an older server must not refuse a newer client);
// what this instance reads out of them is checked to the letter.
import {
  AgentOptionsSchema,
  AgentTypeSchema,
  ApprovalDecisionSchema,
  BranchSchema,
  LIMITS,
  RepositorySchema,
} from '@mosaic-fed/core';
import { z } from 'zod';

/** The A2A protocol version this binding speaks (`A2A-Version`, the card's interfaces). */
export const A2A_VERSION = '1.0';

/** A2A's task states, as ProtoJSON names them. */
export const TASK_STATES = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

const MetadataSchema = z.record(z.string(), z.unknown());

/** One part of a message or artifact: exactly one of text, data, url or raw (base64). */
export const PartSchema = z
  .object({
    text: z.string().optional(),
    data: z.unknown().optional(),
    url: z.string().optional(),
    raw: z.string().optional(),
    mediaType: z.string().max(256).optional(),
    filename: z.string().max(256).optional(),
    metadata: MetadataSchema.optional(),
  })
  .refine((part) => [part.text, part.data, part.url, part.raw].filter((v) => v !== undefined).length === 1, 'a part has exactly one of text, data, url or raw');
export type Part = z.infer<typeof PartSchema>;

export const MessageSchema = z.object({
  messageId: z.string().min(1).max(128),
  contextId: z.string().max(LIMITS.taskIdMaxLength).optional(),
  taskId: z.string().max(128).optional(),
  role: z.enum(['ROLE_USER', 'ROLE_AGENT']),
  parts: z.array(PartSchema).min(1).max(100),
  metadata: MetadataSchema.optional(),
  extensions: z.array(z.string()).max(20).optional(),
  referenceTaskIds: z.array(z.string()).max(20).optional(),
});
export type Message = z.infer<typeof MessageSchema>;

export const TaskStatusSchema = z.object({
  state: TaskStateSchema,
  message: MessageSchema.optional(),
  timestamp: z.string().optional(),
});
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const ArtifactSchema = z.object({
  artifactId: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  parts: z.array(PartSchema).min(1),
  metadata: MetadataSchema.optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const TaskSchema = z.object({
  id: z.string(),
  contextId: z.string(),
  status: TaskStatusSchema,
  artifacts: z.array(ArtifactSchema).optional(),
  history: z.array(MessageSchema).optional(),
  metadata: MetadataSchema.optional(),
});
export type Task = z.infer<typeof TaskSchema>;

export const TaskStatusUpdateEventSchema = z.object({
  taskId: z.string(),
  contextId: z.string(),
  status: TaskStatusSchema,
  metadata: MetadataSchema.optional(),
});

export const TaskArtifactUpdateEventSchema = z.object({
  taskId: z.string(),
  contextId: z.string(),
  artifact: ArtifactSchema,
  append: z.boolean().optional(),
  lastChunk: z.boolean().optional(),
  metadata: MetadataSchema.optional(),
});

/** One event of a stream: the task, a status change, an artifact, or a message. */
export const StreamResponseSchema = z.union([
  z.object({ task: TaskSchema }),
  z.object({ statusUpdate: TaskStatusUpdateEventSchema }),
  z.object({ artifactUpdate: TaskArtifactUpdateEventSchema }),
  z.object({ message: MessageSchema }),
]);
export type StreamResponse = z.infer<typeof StreamResponseSchema>;

/** The media type of A2A's JSON (push notification bodies). */
export const A2A_CONTENT_TYPE = 'application/a2a+json';

/** Where to send a task's push notifications, and what to send along (the client's token and credentials). */
export const PushConfigSchema = z.object({
  url: z.string().min(1).max(2_048),
  id: z.string().max(128).regex(/^[A-Za-z0-9._:-]*$/, 'may only contain letters, digits and . _ : -').optional(),
  token: z.string().max(512).regex(/^[^\r\n]*$/, 'must be one line').optional(),
  authentication: z
    .object({
      scheme: z.string().min(1).max(64).regex(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/, 'an HTTP authentication scheme such as Bearer'),
      credentials: z.string().max(4_096).regex(/^[^\r\n]*$/, 'must be one line').optional(),
    })
    .optional(),
});
export type PushConfigInput = z.infer<typeof PushConfigSchema>;

const TenantSchema = z.string().max(128).optional();

export const SendMessageRequestSchema = z.object({
  tenant: TenantSchema,
  message: MessageSchema,
  configuration: z
    .object({
      acceptedOutputModes: z.array(z.string()).optional(),
      taskPushNotificationConfig: PushConfigSchema.optional(),
      historyLength: z.number().int().min(0).optional(),
      returnImmediately: z.boolean().optional(),
    })
    .optional(),
  metadata: MetadataSchema.optional(),
});
export type SendMessageRequest = z.infer<typeof SendMessageRequestSchema>;

export const TaskRefRequestSchema = z.object({
  tenant: TenantSchema,
  id: z.string().min(1).max(128),
  historyLength: z.coerce.number().int().min(0).optional(),
  metadata: MetadataSchema.optional(),
});
export type TaskRefRequest = z.infer<typeof TaskRefRequestSchema>;

/** `CreateTaskPushNotificationConfig`: a config for one task. */
export const CreatePushConfigRequestSchema = PushConfigSchema.extend({ tenant: TenantSchema, taskId: z.string().min(1).max(128) });

/** `GetTaskPushNotificationConfig` and `DeleteTaskPushNotificationConfig`. */
export const PushConfigRefSchema = z.object({ tenant: TenantSchema, taskId: z.string().min(1).max(128), id: z.string().min(1).max(128) });

/** `ListTaskPushNotificationConfigs` (one page: a task has few). */
export const ListPushConfigsRequestSchema = z.object({
  tenant: TenantSchema,
  taskId: z.string().min(1).max(128),
  pageSize: z.coerce.number().int().min(0).max(100).optional(),
  pageToken: z.string().max(512).optional(),
});

/** `ListTasks`: the JSON-RPC params, or the REST query (strings, coerced). */
export const ListTasksRequestSchema = z.object({
  tenant: TenantSchema,
  contextId: z.string().max(LIMITS.taskIdMaxLength).optional(),
  status: TaskStateSchema.optional(),
  pageSize: z.coerce.number().int().min(1).max(100).optional(),
  pageToken: z.string().max(512).optional(),
  historyLength: z.coerce.number().int().min(0).optional(),
  statusTimestampAfter: z.iso.datetime({ offset: true }).optional(),
  includeArtifacts: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
    .optional(),
});
export type ListTasksRequest = z.infer<typeof ListTasksRequestSchema>;

/**
 * The data part of a message that starts a task: the repository and branch the agent
 * works on, and what else `agent.spawn` takes. Text parts add to the instructions.
 */
export const TaskDataSchema = z.strictObject({
  repository: RepositorySchema,
  branch: BranchSchema,
  agentType: AgentTypeSchema.default('worker'),
  workItems: z.array(z.string().min(1).max(LIMITS.workItemMaxLength)).max(LIMITS.workItemsMaxCount).optional(),
  instructions: z.string().optional(),
  options: AgentOptionsSchema.partial().optional(),
});
export type TaskData = z.infer<typeof TaskDataSchema>;

/** The data part of a message that answers a task in `input-required` (an approval). */
export const AnswerDataSchema = z.strictObject({
  decision: ApprovalDecisionSchema,
  note: z.string().max(4_000).optional(),
  /** Which approval; the one pending when left out. */
  approvalId: z.string().min(1).max(128).optional(),
});
export type AnswerData = z.infer<typeof AnswerDataSchema>;
