/**
 * Numeric limits of the protocol (PROTOCOL 2, 5 and 6), in one place so that schemas,
 * middleware and docs agree.
 */
export const LIMITS = {
  /** Largest accepted message body, in bytes (PROTOCOL 2, `PAYLOAD_TOO_LARGE`). */
  maxMessageBytes: 256 * 1024,
  /** How deeply arrays and objects may nest in a message or an API body (PROTOCOL 2). */
  maxJsonDepth: 64,
  /** Longest allowed message lifetime, `exp - iat`, in seconds. */
  maxMessageLifetimeSeconds: 300,
  /** How far in the receiver's future `iat` may be, in seconds. */
  maxClockSkewSeconds: 60,
  /** How long a receiver remembers a `(iss, jti)`, in seconds. */
  messageLogRetentionSeconds: 24 * 60 * 60,
  /** Default grace period for a previous key after regeneration, in seconds. */
  keyGracePeriodSeconds: 24 * 60 * 60,
  /**
   * How long a receiver still trusts a peer's replaced key, from its rotation
   * certificate's `iat`, in seconds (PROTOCOL 4).
   */
  replacedKeyTrustSeconds: 24 * 60 * 60,
  /** How many replaced keys of a peer a connection remembers, so that none is trusted again. */
  replacedKeysKept: 64,
  taskIdMaxLength: 128,
  repositoryMaxLength: 512,
  /** Patterns in a connection's `repositories` grant. */
  repositoryPatternsMax: 100,
  /** Rules in a connection's `egress` grant, and in a spawn's effective egress. */
  egressRulesMax: 100,
  /** Command patterns in a connection's approval rules. */
  approvalCommandsMax: 50,
  /** Peer workspaces a connection's grants narrow (`workspaces`). */
  workspaceGrantsMax: 50,
  branchMaxLength: 255,
  workItemsMaxCount: 100,
  workItemMaxLength: 256,
  /** `instructions` limit, in UTF-8 bytes. */
  instructionsMaxBytes: 64 * 1024,
  timeoutMinMs: 1_000,
  timeoutMaxMs: 86_400_000,
  timeoutDefaultMs: 3_600_000,
  maxRetriesMax: 10,
  maxRetriesDefault: 0,
  listLimitMax: 500,
  listLimitDefault: 100,
  instanceNameMaxLength: 100,
  /** `metadata` limit, in UTF-8 bytes of its JSON. */
  metadataMaxBytes: 16 * 1024,
  /** Largest git bundle of an agent's commits a spoke keeps and sends, in bytes. */
  bundleMaxBytes: 64 * 1024 * 1024,
  /** Most bytes of a bundle one `agent.bundle` answer carries (base64url: a third more). */
  bundleChunkBytes: 96 * 1024,
  spawnPerMinuteDefault: 60,
  messagesPerMinuteDefault: 600,
} as const;
