import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, FederationError, isFederationError, WireErrorSchema } from './errors.js';

// PROTOCOL 2, the code table, verbatim.
const PROTOCOL_TABLE = {
  MALFORMED_MESSAGE: 400,
  VALIDATION_FAILED: 400,
  INVALID_SIGNATURE: 401,
  UNKNOWN_KEY: 401,
  MESSAGE_EXPIRED: 401,
  WRONG_AUDIENCE: 401,
  UNKNOWN_INSTANCE: 401,
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
  ORCHESTRATOR_UNAVAILABLE: 503,
  BUDGET_EXHAUSTED: 429,
  INTERNAL: 500,
};

describe('FederationError', () => {
  it("reads a peer's BUDGET_EXHAUSTED with its Retry-After, as PROTOCOL 2 has it", () => {
    const wire = WireErrorSchema.parse({ success: false, code: 'BUDGET_EXHAUSTED', error: 'the connection used its tokens for today' });
    const error = FederationError.fromWire(wire, 429, { retryAfter: 3_600 });
    expect(error).toMatchObject({ code: 'BUDGET_EXHAUSTED', status: 429, retryAfter: 3_600 });
  });

  it('pairs every protocol code with its HTTP status', () => {
    expect(ERROR_STATUS).toMatchObject(PROTOCOL_TABLE);
    for (const [code, status] of Object.entries(PROTOCOL_TABLE)) {
      expect(new FederationError(code as keyof typeof PROTOCOL_TABLE, 'x').status).toBe(status);
    }
  });

  it('round-trips through the wire without its cause', () => {
    const original = new FederationError('VALIDATION_FAILED', 'payload does not match its schema: taskId', {
      details: [{ path: 'taskId', message: 'Too small' }],
      cause: new Error('secret internals'),
    });
    const wire = JSON.parse(JSON.stringify(original.toWire())) as unknown;
    expect(WireErrorSchema.parse(wire)).toEqual({
      success: false,
      error: 'payload does not match its schema: taskId',
      code: 'VALIDATION_FAILED',
      details: [{ path: 'taskId', message: 'Too small' }],
    });
    expect(JSON.stringify(wire)).not.toContain('secret internals');
    const rebuilt = FederationError.fromWire(wire, 400);
    expect(rebuilt).toBeInstanceOf(FederationError);
    expect(rebuilt.name).toBe('FederationError');
    expect(rebuilt.code).toBe('VALIDATION_FAILED');
    expect(rebuilt.details).toEqual(original.details);
  });

  it('keeps the data a code defines', () => {
    const wire = new FederationError('AGENT_ALREADY_TERMINAL', 'the agent is already completed', {
      data: { status: 'completed' },
    }).toWire();
    expect(FederationError.fromWire(wire).data).toEqual({ status: 'completed' });
  });

  it('drops data a code does not define, or in a shape its code does not give it', () => {
    const wire = (code: string, data: unknown) => ({ success: false, code, error: 'x', data });
    expect(FederationError.fromWire(wire('NOT_FOUND', { secret: 'path' })).data).toBeUndefined();
    expect(FederationError.fromWire(wire('AGENT_ALREADY_TERMINAL', { status: 'exploded' })).data).toBeUndefined();
    expect(FederationError.fromWire(wire('AGENT_ALREADY_TERMINAL', 'completed')).data).toBeUndefined();
    // A whole agent status is its status too: what a hub answers with.
    const status = { agentId: 'a', status: 'killed', sequence: 3 };
    expect(FederationError.fromWire(wire('AGENT_ALREADY_TERMINAL', status)).data).toEqual(status);
  });

  it('keeps the Retry-After an answer came with, and ignores one that is not a number', () => {
    const body = { success: false, code: 'RATE_LIMITED', error: 'slow down' };
    expect(FederationError.fromWire(body, 429, { retryAfter: 7 }).retryAfter).toBe(7);
    expect(FederationError.fromWire(body, 429, { retryAfter: Number('soon') }).retryAfter).toBeUndefined();
    expect(FederationError.fromWire('<html>', 503, { retryAfter: 2 })).toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE', retryAfter: 2 });
  });

  it('narrows to the codes asked for', () => {
    const error: unknown = new FederationError('AGENT_ALREADY_TERMINAL', 'done', { data: { status: 'completed' } });
    expect(isFederationError(error, 'NOT_FOUND')).toBe(false);
    expect(isFederationError(error, 'NOT_FOUND', 'AGENT_ALREADY_TERMINAL')).toBe(true);
    if (!isFederationError(error, 'AGENT_ALREADY_TERMINAL')) throw new Error('not narrowed');
    // Typed by its code: `data.status` is an agent state, no cast needed.
    const state: 'spawning' | 'running' | 'waiting' | 'completed' | 'failed' | 'killed' | undefined = error.data?.status;
    expect(state).toBe('completed');
  });

  it('turns a body that is not a protocol error into INTERNAL or ORCHESTRATOR_UNAVAILABLE', () => {
    expect(FederationError.fromWire('<html>Bad Gateway</html>', 502).code).toBe('INTERNAL');
    expect(FederationError.fromWire({ success: false, code: 'TEAPOT', error: 'x' }).code).toBe('INTERNAL');
    expect(FederationError.fromWire(undefined, 503).code).toBe('ORCHESTRATOR_UNAVAILABLE');
  });

  it('is recognised across bundle copies by name and code', () => {
    const foreign = Object.assign(new Error('x'), { name: 'FederationError', code: 'NOT_FOUND' });
    expect(isFederationError(foreign)).toBe(true);
    expect(isFederationError(Object.assign(new Error('x'), { name: 'FederationError', code: 'NOPE' }))).toBe(false);
    expect(isFederationError(new FederationError('NOT_FOUND', 'x'))).toBe(true);
  });
});
