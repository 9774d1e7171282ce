import { z } from 'zod';
import { ErrorCodeSchema, ValidationIssueSchema } from '../errors.js';
import {
  AgentKillResponseSchema,
  AgentRespondPayloadSchema,
  AgentRespondResponseSchema,
  AgentRefPayloadSchema,
  AgentSpawnPayloadSchema,
  AgentSpawnResponseSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  AgentsListPayloadSchema,
  AgentsListResponseSchema,
  AgentsStatusPayloadSchema,
  AgentsStatusResponseSchema,
  AgentBundlePayloadSchema,
  AgentBundleResponseSchema,
  AgentTranscriptPayloadSchema,
  AgentTranscriptResponseSchema,
} from './agents.js';
import type { CommandType, QueryType } from './connections.js';
import { CompactJwsSchema, InstanceDocumentSchema, InstanceIdSchema, KidSchema, WorkspaceIdSchema } from './instance.js';

/** `typ` of every message between instances (PROTOCOL 2). */
export const MESSAGE_TYP = 'mosaic-fed+jwt';
/** `typ` of a rotation certificate (PROTOCOL 4). */
export const ROTATION_TYP = 'mosaic-fed-rotation+jwt';

export const MESSAGE_KINDS = [
  'CONNECT',
  'CONNECT_ACCEPT',
  'CONNECT_REJECT',
  'DISCONNECT',
  'QUERY',
  'COMMAND',
  'EVENT',
  'RESPONSE',
] as const;
export const MessageKindSchema = z.enum(MESSAGE_KINDS);
export type MessageKind = z.infer<typeof MessageKindSchema>;

/**
 * The protected header of a message (PROTOCOL 2). Strict: any other parameter,
 * `crit`, `jku`, `jwk`, `x5u` and `b64` among them, makes the message malformed.
 */
export const MessageHeaderSchema = z.strictObject({
  alg: z.literal('EdDSA'),
  typ: z.literal(MESSAGE_TYP),
  kid: KidSchema,
});
export type MessageHeader = z.infer<typeof MessageHeaderSchema>;

/**
 * The linked user on whose behalf the hub acts, and the workspace they act in: signed
 * inside the message, so the receiver can keep one workspace's agents from another's
 * (docs/protocol.md, "Acting for users").
 */
export const ActorSchema = z.strictObject({
  userId: z.string().min(1).max(256),
  workspaceId: WorkspaceIdSchema.optional(),
});
export type Actor = z.infer<typeof ActorSchema>;

/** A command, query or event type: dotted lower-case words (`agent.spawn`). */
export const MessageTypeNameSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-zA-Z0-9]*(?:\.[a-z][a-zA-Z0-9]*)+$/, 'must be dotted words like agent.spawn');

const envelope = {
  jti: z.uuid(),
  iss: InstanceIdSchema,
  aud: InstanceIdSchema,
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
};

const ReasonPayloadSchema = z.strictObject({ reason: z.string().max(1_000).optional() });

/** `CONNECT`: the sender's instance document (PROTOCOL 3, step 1). */
export const ConnectMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('CONNECT'),
  payload: InstanceDocumentSchema,
});
/** `CONNECT_ACCEPT`: the accepting instance's current document (docs/protocol.md). */
export const ConnectAcceptMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('CONNECT_ACCEPT'),
  payload: InstanceDocumentSchema,
});
export const ConnectRejectMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('CONNECT_REJECT'),
  payload: ReasonPayloadSchema,
});
export const DisconnectMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('DISCONNECT'),
  payload: ReasonPayloadSchema,
});
/**
 * `COMMAND`: the payload is checked against its command type's schema by the receiver
 * ({@link COMMAND_SCHEMAS}), after the envelope verified.
 */
export const CommandMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('COMMAND'),
  commandType: MessageTypeNameSchema,
  payload: z.unknown(),
  actor: ActorSchema.optional(),
});
export const QueryMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('QUERY'),
  queryType: MessageTypeNameSchema,
  payload: z.unknown(),
  actor: ActorSchema.optional(),
});
export const EventMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('EVENT'),
  eventType: MessageTypeNameSchema,
  payload: z.unknown(),
});
export const SuccessResponseMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('RESPONSE'),
  inReplyTo: z.uuid(),
  success: z.literal(true),
  data: z.unknown(),
});
export const ErrorResponseMessageSchema = z.strictObject({
  ...envelope,
  kind: z.literal('RESPONSE'),
  inReplyTo: z.uuid(),
  success: z.literal(false),
  error: z.string().max(4_096),
  code: ErrorCodeSchema,
  details: z.array(ValidationIssueSchema).optional(),
  data: z.unknown().optional(),
});
/** `RESPONSE`: `success: true, data` or `success: false, error, code` (PROTOCOL 2). */
export const ResponseMessageSchema = z.discriminatedUnion('success', [
  SuccessResponseMessageSchema,
  ErrorResponseMessageSchema,
]);

/** The claims of any message between instances (PROTOCOL 2). */
export const FederationMessageSchema = z.discriminatedUnion('kind', [
  ConnectMessageSchema,
  ConnectAcceptMessageSchema,
  ConnectRejectMessageSchema,
  DisconnectMessageSchema,
  CommandMessageSchema,
  QueryMessageSchema,
  EventMessageSchema,
  ResponseMessageSchema,
]);
export type FederationMessage = z.infer<typeof FederationMessageSchema>;
export type ConnectMessage = z.infer<typeof ConnectMessageSchema>;
export type CommandMessage = z.infer<typeof CommandMessageSchema>;
export type QueryMessage = z.infer<typeof QueryMessageSchema>;
export type EventMessage = z.infer<typeof EventMessageSchema>;
export type ResponseMessage = z.infer<typeof ResponseMessageSchema>;

/** The message claims of one kind. */
export type MessageOfKind<K extends MessageKind> = Extract<FederationMessage, { kind: K }>;

type EnvelopeTimes = 'iat' | 'exp' | 'jti';
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A message as the sender writes it: `iat` and `exp` are set when it is signed, and
 * `jti` is generated unless given (a retry of the same logical message gives the
 * original `jti`: PROTOCOL 2).
 */
export type OutgoingMessage = DistributiveOmit<FederationMessage, EnvelopeTimes> & {
  jti?: string;
};

/** `federation.keys.rotated` event payload: the new rotation certificate (PROTOCOL 4). */
export const KeysRotatedPayloadSchema = z.strictObject({ certificate: CompactJwsSchema });
export type KeysRotatedPayload = z.infer<typeof KeysRotatedPayloadSchema>;

/** Payload and response-data schemas of each command type (PROTOCOL 5). */
export const COMMAND_SCHEMAS = {
  'agent.spawn': { payload: AgentSpawnPayloadSchema, response: AgentSpawnResponseSchema },
  'agent.status': { payload: AgentRefPayloadSchema, response: AgentStatusSchema },
  'agent.kill': { payload: AgentRefPayloadSchema, response: AgentKillResponseSchema },
  'agent.respond': { payload: AgentRespondPayloadSchema, response: AgentRespondResponseSchema },
} as const satisfies Record<CommandType, { payload: z.ZodType; response: z.ZodType }>;

/** Payload and response-data schemas of each query type (PROTOCOL 5). */
export const QUERY_SCHEMAS = {
  'agents.list': { payload: AgentsListPayloadSchema, response: AgentsListResponseSchema },
  'agents.status': { payload: AgentsStatusPayloadSchema, response: AgentsStatusResponseSchema },
  'agent.transcript': { payload: AgentTranscriptPayloadSchema, response: AgentTranscriptResponseSchema },
  'agent.bundle': { payload: AgentBundlePayloadSchema, response: AgentBundleResponseSchema },
} as const satisfies Record<QueryType, { payload: z.ZodType; response: z.ZodType }>;

/** Payload schema of each event type (PROTOCOL 4 and 5). */
export const EVENT_SCHEMAS = {
  'agent.status.changed': AgentStatusChangedPayloadSchema,
  'federation.keys.rotated': KeysRotatedPayloadSchema,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
