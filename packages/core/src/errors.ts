import { z } from 'zod';
import { jsonDepth } from './lib/json-depth.js';
import { LIMITS } from './limits.js';
import { AgentStateSchema } from './schemas/agents.js';

/**
 * The protocol's error codes and the HTTP status each one travels with
 * (PROTOCOL 2, "Responses"). This table is the only place a code meets a status.
 */
export const ERROR_STATUS = {
  MALFORMED_MESSAGE: 400,
  VALIDATION_FAILED: 400,
  INVALID_SIGNATURE: 401,
  UNKNOWN_KEY: 401,
  MESSAGE_EXPIRED: 401,
  WRONG_AUDIENCE: 401,
  UNKNOWN_INSTANCE: 401,
  // Section 6 only: the instance's own API met no valid bearer token. Instances never
  // send it to each other (docs/protocol.md).
  UNAUTHORIZED: 401,
  CONNECTION_NOT_ACTIVE: 403,
  FORBIDDEN: 403,
  CAPABILITY_DISABLED: 403,
  NOT_FOUND: 404,
  MESSAGE_ID_CONFLICT: 409,
  MESSAGE_IN_PROGRESS: 409,
  AGENT_ALREADY_TERMINAL: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  CONCURRENCY_LIMIT: 429,
  // The connection's token or agent-time budget for the period is used up; `Retry-After`
  // until it resets.
  BUDGET_EXHAUSTED: 429,
  INTERNAL: 500,
  ORCHESTRATOR_UNAVAILABLE: 503,
  // Section 6 only: the peer could not be reached or did not answer in time.
  PEER_UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

/** Every error code a Mosaic Federation peer or API may answer with. */
export const ErrorCodeSchema = z.enum(
  Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]],
);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/**
 * What `data` carries, for the codes that define it (PROTOCOL 2, "Responses"): with
 * `AGENT_ALREADY_TERMINAL`, the agent's status (at least its state). Every other code
 * carries none.
 */
export const ERROR_DATA_SCHEMAS = {
  AGENT_ALREADY_TERMINAL: z.looseObject({ status: AgentStateSchema }),
} as const satisfies Partial<Record<ErrorCode, z.ZodType>>;

/** The `data` of an error with code `C`: `never` for a code that defines none. */
export type ErrorData<C extends ErrorCode = ErrorCode> = C extends keyof typeof ERROR_DATA_SCHEMAS
  ? z.output<(typeof ERROR_DATA_SCHEMAS)[C]>
  : never;

function dataSchemaOf(code: ErrorCode): z.ZodType | undefined {
  return (ERROR_DATA_SCHEMAS as Partial<Record<ErrorCode, z.ZodType>>)[code];
}

/** One field that failed validation: a dotted path (`context.branch`) and why. */
export const ValidationIssueSchema = z.strictObject({
  path: z.string(),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

/**
 * The error body on the wire, both for unauthenticated rejections (PROTOCOL 2) and for
 * the instance's own API (PROTOCOL 6). `data` carries what a code defines, such as the
 * agent's status with `AGENT_ALREADY_TERMINAL`.
 */
export const WireErrorSchema = z.strictObject({
  success: z.literal(false),
  error: z.string(),
  code: ErrorCodeSchema,
  details: z.array(ValidationIssueSchema).optional(),
  data: z.unknown().optional(),
});
export type WireError = z.infer<typeof WireErrorSchema>;

/** Options for {@link FederationError}. */
export interface FederationErrorOptions<C extends ErrorCode = ErrorCode> {
  /** For `VALIDATION_FAILED`: the offending fields. */
  details?: ValidationIssue[];
  /** Data the code defines (PROTOCOL 2), such as an agent status; see {@link ErrorData}. */
  data?: ErrorData<C>;
  /** For `RATE_LIMITED`, `MESSAGE_IN_PROGRESS` and `BUDGET_EXHAUSTED`: seconds until a retry may succeed. */
  retryAfter?: number;
  cause?: unknown;
}

/**
 * The one error class of the protocol. Switch on `code`, never on the message text; the
 * code types `data` ({@link ErrorData}), and {@link isFederationError} with a code narrows
 * to it.
 *
 * @example
 * ```ts
 * throw new FederationError('NOT_FOUND', 'no such agent');
 * // on the other side of the wire:
 * const err = FederationError.fromWire(await response.json(), response.status);
 * if (isFederationError(err, 'AGENT_ALREADY_TERMINAL')) console.log(err.data?.status);
 * ```
 */
export class FederationError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: ValidationIssue[] | undefined;
  readonly data: ErrorData<C> | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: C, message: string, options: FederationErrorOptions<C> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
    this.data = options.data;
    this.retryAfter = options.retryAfter;
  }

  /** The HTTP status the protocol pairs with this error's code. */
  get status(): (typeof ERROR_STATUS)[C] {
    return ERROR_STATUS[this.code];
  }

  /** The wire body for this error. Never includes the cause or a stack trace. */
  toWire(): WireError {
    const body: WireError = { success: false, error: this.message, code: this.code };
    if (this.details !== undefined) body.details = this.details;
    if (this.data !== undefined) body.data = this.data;
    return body;
  }

  /**
   * Rebuilds an error from a wire body. A body that is not a protocol error becomes
   * `INTERNAL` (or, for a 503, `ORCHESTRATOR_UNAVAILABLE`), so callers can always switch
   * on `code`. `data` is kept only where the code defines it and it has that shape;
   * `retryAfter` is the `Retry-After` the answer came with, in seconds.
   */
  static fromWire(body: unknown, status?: number, options: { retryAfter?: number | undefined } = {}): FederationError {
    const retryAfter = options.retryAfter !== undefined && Number.isFinite(options.retryAfter) ? { retryAfter: options.retryAfter } : {};
    const parsed = WireErrorSchema.safeParse(body);
    if (parsed.success) {
      const { code, error, details } = parsed.data;
      const data = dataSchemaOf(code)?.safeParse(parsed.data.data);
      return new FederationError(code, error, {
        ...retryAfter,
        ...(details === undefined ? {} : { details }),
        ...(data?.success === true ? { data: data.data as ErrorData } : {}),
      });
    }
    const code: ErrorCode = status === 503 ? 'ORCHESTRATOR_UNAVAILABLE' : 'INTERNAL';
    const suffix = status === undefined ? '' : ` (HTTP ${status})`;
    return new FederationError(code, `unrecognised error response${suffix}`, retryAfter);
  }
}

/**
 * True when `value` is a {@link FederationError} (with one of `codes`, when given), also
 * across bundle copies of core.
 */
export function isFederationError<C extends ErrorCode = ErrorCode>(value: unknown, ...codes: C[]): value is FederationError<C> {
  const federation =
    value instanceof FederationError ||
    (value instanceof Error && value.name === 'FederationError' && ErrorCodeSchema.safeParse((value as { code?: unknown }).code).success);
  return federation && (codes.length === 0 || (codes as string[]).includes((value as { code: string }).code));
}

/**
 * Turns zod issues into the protocol's `details` list: one entry per field, with a
 * dotted path (`context.workItems.3`) and every problem with it, so a caller can point
 * at exactly what to fix.
 */
export function toValidationIssues(error: z.core.$ZodError): ValidationIssue[] {
  const byPath = new Map<string, string[]>();
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.') || '(root)';
    byPath.set(path, [...(byPath.get(path) ?? []), issue.message]);
  }
  return [...byPath].map(([path, messages]) => ({ path, message: messages.join('; ') }));
}

/**
 * `VALIDATION_FAILED` for a value whose arrays and objects nest deeper than
 * `LIMITS.maxJsonDepth` (PROTOCOL 2). Checked before any recursive walk (a schema, a
 * hash) meets the value, so that nesting cannot exhaust the stack.
 */
export function assertJsonDepth(value: unknown, what = 'payload'): void {
  if (jsonDepth(value, LIMITS.maxJsonDepth) > LIMITS.maxJsonDepth) {
    throw new FederationError('VALIDATION_FAILED', `${what} nests deeper than ${LIMITS.maxJsonDepth} levels`, {
      details: [{ path: '(root)', message: `must not nest deeper than ${LIMITS.maxJsonDepth} levels` }],
    });
  }
}

/**
 * Parses `value` with `schema`, throwing `VALIDATION_FAILED` with every offending field
 * listed (or for nesting deeper than the protocol allows). The boundary helper used
 * wherever untrusted input enters.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = 'payload',
): z.output<S> {
  assertJsonDepth(value, what);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationFailed(result.error, what);
}

/** `VALIDATION_FAILED` for `what`, listing every field zod found wrong in it. */
export function validationFailed(error: z.core.$ZodError, what = 'payload'): FederationError<'VALIDATION_FAILED'> {
  const details = toValidationIssues(error);
  const fields = details.map((d) => d.path).join(', ');
  return new FederationError('VALIDATION_FAILED', `${what} does not match its schema: ${fields}`, { details });
}
