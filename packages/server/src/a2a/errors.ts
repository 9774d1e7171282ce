// Errors on the A2A binding (docs/protocol.md, "A2A"): A2A's own errors, and this
// instance's error codes, each with its JSON-RPC code, its HTTP status and its
// google.rpc.Status name, and a google.rpc.ErrorInfo that names the reason: A2A's, in
// A2A's domain, or this protocol's code (RATE_LIMITED, BUDGET_EXHAUSTED...) in ours.
import { ERROR_STATUS, FederationError, isFederationError, type ErrorCode } from '@mosaic-fed/core';

/** A2A's error reasons (A2A 1.0, 3.3.2), and JSON-RPC's own errors. */
export type A2AReason =
  | 'TASK_NOT_FOUND'
  | 'TASK_NOT_CANCELABLE'
  | 'PUSH_NOTIFICATION_NOT_SUPPORTED'
  | 'UNSUPPORTED_OPERATION'
  | 'CONTENT_TYPE_NOT_SUPPORTED'
  | 'VERSION_NOT_SUPPORTED'
  | 'INVALID_PARAMS'
  | 'PARSE_ERROR'
  | 'INVALID_REQUEST'
  | 'METHOD_NOT_FOUND';

/** An error A2A defines, raised by the binding. */
export class A2AError extends Error {
  constructor(
    readonly reason: A2AReason,
    message: string,
  ) {
    super(message);
    this.name = 'A2AError';
  }
}

const A2A_DOMAIN = 'a2a-protocol.org';
/** The ErrorInfo domain of this protocol's own codes. */
export const MOSAIC_DOMAIN = 'mosaic-fed';
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

const A2A_ERRORS: Record<A2AReason, { code: number; http: number; status: string }> = {
  TASK_NOT_FOUND: { code: -32001, http: 404, status: 'NOT_FOUND' },
  TASK_NOT_CANCELABLE: { code: -32002, http: 400, status: 'FAILED_PRECONDITION' },
  PUSH_NOTIFICATION_NOT_SUPPORTED: { code: -32003, http: 400, status: 'FAILED_PRECONDITION' },
  UNSUPPORTED_OPERATION: { code: -32004, http: 400, status: 'FAILED_PRECONDITION' },
  CONTENT_TYPE_NOT_SUPPORTED: { code: -32005, http: 400, status: 'INVALID_ARGUMENT' },
  VERSION_NOT_SUPPORTED: { code: -32009, http: 400, status: 'FAILED_PRECONDITION' },
  INVALID_PARAMS: { code: -32602, http: 400, status: 'INVALID_ARGUMENT' },
  PARSE_ERROR: { code: -32700, http: 400, status: 'INVALID_ARGUMENT' },
  INVALID_REQUEST: { code: -32600, http: 400, status: 'INVALID_ARGUMENT' },
  METHOD_NOT_FOUND: { code: -32601, http: 404, status: 'NOT_FOUND' },
};

/**
 * This protocol's codes that A2A has a name for become that A2A error; the others keep
 * their code as the ErrorInfo reason, with a JSON-RPC code of their own (-31000 minus
 * their HTTP status: outside JSON-RPC's and A2A's reserved ranges).
 */
const AS_A2A: Partial<Record<ErrorCode, A2AReason>> = {
  NOT_FOUND: 'TASK_NOT_FOUND',
  AGENT_ALREADY_TERMINAL: 'TASK_NOT_CANCELABLE',
  VALIDATION_FAILED: 'INVALID_PARAMS',
  MALFORMED_MESSAGE: 'INVALID_PARAMS',
};

const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** An error as the binding answers it, whichever wire it goes out on. */
export interface WireError {
  /** The JSON-RPC `error.code`. */
  code: number;
  http: number;
  status: string;
  message: string;
  details: { '@type': string; reason: string; domain: string; metadata?: Record<string, string> }[];
  retryAfter?: number | undefined;
}

/**
 * `error` as the binding answers it. Anything neither A2A's nor this protocol's has been
 * logged by the caller and is answered as INTERNAL, without its message.
 */
export function wireErrorOf(error: unknown): WireError {
  if (error instanceof A2AError) return a2aWire(error.reason, error.message);
  const federation: FederationError = isFederationError(error) ? error : new FederationError('INTERNAL', 'something went wrong on this instance; the details are in its log');
  const reason = AS_A2A[federation.code];
  if (reason !== undefined) {
    // A2A's reason first (what its clients read), then this protocol's code.
    const wire = a2aWire(reason, federation.message);
    return { ...wire, details: [...wire.details, info(federation.code, MOSAIC_DOMAIN)] };
  }
  const http = ERROR_STATUS[federation.code];
  return {
    code: -31000 - http,
    http,
    status: STATUS_NAME[http] ?? 'UNKNOWN',
    message: federation.message,
    details: [info(federation.code, MOSAIC_DOMAIN, federation.retryAfter === undefined ? undefined : { retryAfter: String(federation.retryAfter) })],
    retryAfter: federation.retryAfter,
  };
}

function a2aWire(reason: A2AReason, message: string): WireError {
  const { code, http, status } = A2A_ERRORS[reason];
  // JSON-RPC's own errors carry no ErrorInfo: A2A has no reason for them.
  const own = reason === 'PARSE_ERROR' || reason === 'INVALID_REQUEST' || reason === 'METHOD_NOT_FOUND';
  return { code, http, status, message, details: own ? [] : [info(reason, A2A_DOMAIN)] };
}

function info(reason: string, domain: string, metadata?: Record<string, string>) {
  return { '@type': ERROR_INFO, reason, domain, ...(metadata === undefined ? {} : { metadata }) };
}
