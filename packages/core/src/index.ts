/**
 * @mosaic-fed/core: the Mosaic Federation protocol in code. Zod schemas for every
 * message, payload and response (types inferred from them), Ed25519 keys, message
 * signing and verification, rotation certificates, the agent lifecycle, and the
 * `OrchestratorAdapter` seam. Depends on zod and jose only, and runs on any JavaScript
 * runtime with WebCrypto: Node, Bun, Deno, Cloudflare Workers, browsers.
 *
 * @packageDocumentation
 */

export {
  assertJsonDepth,
  ERROR_DATA_SCHEMAS,
  ERROR_STATUS,
  ErrorCodeSchema,
  FederationError,
  isFederationError,
  parseOrThrow,
  toValidationIssues,
  validationFailed,
  ValidationIssueSchema,
  WireErrorSchema,
} from './errors.js';
export type { ErrorCode, ErrorData, FederationErrorOptions, ValidationIssue, WireError } from './errors.js';

export { LIMITS } from './limits.js';

export { describeError, silentLogger } from './logger.js';
export type { LogFields, Logger } from './logger.js';

export {
  AGENT_TYPES,
  AgentTypeSchema,
  CapabilitiesSchema,
  CompactJwsSchema,
  DEFAULT_CAPABILITIES,
  InstanceDocumentSchema,
  InstanceIdSchema,
  InstanceNameSchema,
  InstanceUrlSchema,
  KidSchema,
  MetadataSchema,
  PROTOCOL_VERSION,
  PublicJwkSchema,
  UpdateInstanceDtoSchema,
  WorkspaceIdSchema,
} from './schemas/instance.js';
export type {
  AgentType,
  Capabilities,
  InstanceDocument,
  InstanceId,
  Metadata,
  PublicJwk,
  UpdateInstanceDto,
} from './schemas/instance.js';

export {
  AGENT_STATES,
  AgentArtifactSchema,
  AgentBundlePayloadSchema,
  AgentBundleRefSchema,
  AgentBundleResponseSchema,
  AgentCheckSchema,
  AgentContextSchema,
  AgentIdSchema,
  AgentKillResponseSchema,
  AgentOptionsSchema,
  AgentRespondPayloadSchema,
  AgentRespondResponseSchema,
  ApprovalAnswerSchema,
  ApprovalDecisionSchema,
  AgentOutcomeSchema,
  AgentProgressSchema,
  PendingApprovalSchema,
  AgentRefPayloadSchema,
  AgentResultSchema,
  AgentSpawnPayloadSchema,
  AgentSpawnResponseSchema,
  AgentStateSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  AgentsListPayloadSchema,
  AgentsListResponseSchema,
  agentsStatusAnswer,
  AgentsStatusPayloadSchema,
  AgentsStatusResponseSchema,
  AgentTranscriptPayloadSchema,
  AgentTranscriptResponseSchema,
  AgentUsageSchema,
  BranchSchema,
  EstimatedCostSchema,
  usageOf,
  inputTokensOf,
  IsoDateTimeSchema,
  RepositorySchema,
  Sha256HexSchema,
  TaskIdSchema,
  tokensOf,
  TranscriptEntrySchema,
} from './schemas/agents.js';
export type {
  AgentArtifact,
  AgentBundlePayload,
  AgentBundleRef,
  AgentBundleResponse,
  AgentCheck,
  AgentKillResponse,
  AgentOutcome,
  AgentRespondPayload,
  AgentRespondResponse,
  ApprovalAnswer,
  ApprovalDecision,
  AgentProgress,
  PendingApproval,
  AgentRefPayload,
  AgentResult,
  AgentSpawnPayload,
  AgentSpawnPayloadInput,
  AgentSpawnResponse,
  AgentState,
  AgentStatus,
  AgentStatusChangedPayload,
  AgentsListPayload,
  AgentsListResponse,
  AgentsStatusPayload,
  AgentsStatusResponse,
  AgentTranscriptPayload,
  AgentTranscriptResponse,
  AgentUsage,
  EstimatedCost,
  TranscriptEntry,
} from './schemas/agents.js';

export {
  AGENT_COMMAND_TYPES,
  AgentCommandTypeSchema,
  ApprovalRulesSchema,
  COMMAND_TYPES,
  CommandPatternSchema,
  CONNECTION_STATUSES,
  ConnectionDirectionSchema,
  ConnectionReplySchema,
  ConnectionSchema,
  ConnectionsQuerySchema,
  ConnectionStatusSchema,
  defaultGrants,
  GRANTABLE_TYPES,
  GrantableTypeSchema,
  GrantsSchema,
  WorkspaceGrantsSchema,
  QUERY_TYPES,
  QueryTypeSchema,
  ReplacedKeySchema,
  UpdateGrantsDtoSchema,
  applyGrantsUpdate,
} from './schemas/connections.js';
export {
  A2AAgentSchema,
  AddA2AAgentDtoSchema,
  A2AClientCreatedSchema,
  A2AClientNameSchema,
  A2AClientSchema,
  CreateA2AClientDtoSchema,
  UpdateA2AClientDtoSchema,
} from './schemas/a2a.js';
export type { A2AAgent, AddA2AAgentDto, A2AClient, A2AClientCreated, CreateA2AClientDto, UpdateA2AClientDto } from './schemas/a2a.js';
export type {
  AgentCommandType,
  ApprovalRules,
  CommandType,
  Connection,
  ConnectionReply,
  ConnectionDirection,
  ConnectionStatus,
  GrantableType,
  Grants,
  WorkspaceGrants,
  QueryType,
  ReplacedKey,
  UpdateGrantsDto,
} from './schemas/connections.js';

export {
  ActorSchema,
  COMMAND_SCHEMAS,
  CommandMessageSchema,
  ConnectAcceptMessageSchema,
  ConnectMessageSchema,
  ConnectRejectMessageSchema,
  DisconnectMessageSchema,
  ErrorResponseMessageSchema,
  EVENT_SCHEMAS,
  EventMessageSchema,
  FederationMessageSchema,
  KeysRotatedPayloadSchema,
  MESSAGE_KINDS,
  MESSAGE_TYP,
  MessageHeaderSchema,
  MessageKindSchema,
  MessageTypeNameSchema,
  QUERY_SCHEMAS,
  QueryMessageSchema,
  ResponseMessageSchema,
  ROTATION_TYP,
  SuccessResponseMessageSchema,
} from './schemas/messages.js';
export type {
  Actor,
  CommandMessage,
  ConnectMessage,
  EventMessage,
  EventType,
  FederationMessage,
  KeysRotatedPayload,
  MessageHeader,
  MessageKind,
  MessageOfKind,
  OutgoingMessage,
  QueryMessage,
  ResponseMessage,
} from './schemas/messages.js';

export {
  AgentFilterSchema,
  AgentsOverviewQuerySchema,
  AgentsOverviewSchema,
  AgentStatusesDtoSchema,
  AgentStatusQuerySchema,
  apiResponseSchema,
  apiSuccessSchema,
  AuditActorSchema,
  AuditEntrySchema,
  AuditPageSchema,
  AdminTokenSchema,
  HostedAgentSchema,
  CreateConnectionDtoSchema,
  InstanceConfigurationSchema,
  InstanceKeySchema,
  pageSchema,
  PageQuerySchema,
  RegenerateKeysResponseSchema,
  RemoteAgentSchema,
  SpawnAgentDtoSchema,
  AuditQuerySchema,
  AgentDeliverySchema,
  DELIVERY_STATES,
  DeliveryRequestSchema,
  DeliveryStateSchema,
  HubSpawnPayloadSchema,
  OpenedPullRequestSchema,
  PullRequestRequestSchema,
  IdempotencyKeySchema,
  GitCredentialDtoSchema,
  GitCredentialHostSchema,
  GitCredentialSchema,
} from './schemas/api.js';
export type {
  AdminToken,
  AgentsOverview,
  AgentStatusesDto,
  AgentFilter,
  AgentsOverviewQuery,
  AuditActor,
  AuditEntry,
  AuditPage,
  HostedAgent,
  CreateConnectionDto,
  GitCredential,
  GitCredentialDto,
  InstanceConfiguration,
  InstanceKey,
  PageQuery,
  RegenerateKeysResponse,
  RemoteAgent,
  SpawnAgentDto,
  AuditQuery,
  AgentDelivery,
  DeliveryRequest,
  DeliveryState,
  HubSpawnPayloadInput,
  OpenedPullRequest,
  PullRequestRequest,
} from './schemas/api.js';

export {
  computeKid,
  generateKeyPair,
  importSigningKey,
  importVerificationKey,
  PrivateJwkSchema,
  SIGNING_ALGORITHM,
  toPublicJwk,
} from './keys.js';
export type { GeneratedKeyPair, PrivateJwk, SigningKey, VerificationKey } from './keys.js';

export { signMessage, verifyMessage } from './signing.js';
export type {
  KeyLookup,
  KeyResolver,
  ResolvedKey,
  SignMessageOptions,
  VerifiedMessage,
  VerifyMessageOptions,
} from './signing.js';

export {
  createRotationCertificate,
  RotationCertificateClaimsSchema,
  RotationCertificateHeaderSchema,
  verifyRotationChain,
} from './rotation.js';
export type {
  CreateRotationCertificateOptions,
  RotationCertificateClaims,
  VerifiedRotationChain,
  VerifyRotationChainOptions,
} from './rotation.js';

export { messageContentHash } from './message-hash.js';
export { canonicalJson } from './lib/canonical-json.js';

export type { AddressPolicy } from './address-policy.js';
export {
  canonicalRepository,
  checkRepositoryPatterns,
  DEFAULT_REPOSITORY_PATTERNS,
  repositoryAllowed,
  RepositoryPatternSchema,
} from './repositories.js';
export { assembleBundle, bundleChunk, chunkEnd, sha256Hex } from './bundle.js';
export { canonicalHost, checkEgressRules, EGRESS_DEFAULT_PORTS, egressAllowed, EgressRuleSchema, mergeEgressRules } from './egress.js';
export { commandNeedsApproval, NETWORK_PATTERN } from './approvals.js';
export { addUsage, costInWords, estimateCost, ModelPriceSchema, PriceTableSchema } from './usage.js';
export type { ModelPrice, PriceTable } from './usage.js';
export { canTransition, isTerminalState, nextStates, spawningStatus, TERMINAL_STATES, transition } from './lifecycle.js';

export { OrchestratorSpawnRequestSchema } from './orchestrator.js';
export type { BundleRange, OrchestratorAdapter, OrchestratorSpawnRequest, TranscriptPage, WatchAgentOptions } from './orchestrator.js';

// The retry schedule of PROTOCOL 5's outbox and of every client that retries.
export { backoffMs } from './backoff.js';

// The people of an instance: users, workspaces and their roles (docs/protocol.md, "Acting for users").
export {
  ACTING_ROLES,
  AgentOwnerSchema,
  CreateUserDtoSchema,
  CreateUserTokenDtoSchema,
  CreateWorkspaceDtoSchema,
  MembershipSchema,
  PersonIdSchema,
  PrincipalViewSchema,
  SetMembershipDtoSchema,
  UpdateWorkspaceDtoSchema,
  UserSchema,
  WORKSPACE_ROLES,
  WorkspaceRoleSchema,
  WorkspaceSchema,
} from './schemas/people.js';
export type {
  AgentOwner,
  CreateUserDto,
  CreateUserTokenDto,
  CreateWorkspaceDto,
  Membership,
  PrincipalView,
  UpdateWorkspaceDto,
  User,
  Workspace,
  WorkspaceRole,
} from './schemas/people.js';
