import { describe, expect, it } from 'vitest';
import { unavailableError } from './unavailable.js';

/** An error with a driver's `code`, wrapped as drizzle wraps it. */
function wrapped(code: string | undefined, message = 'failed'): Error {
  const inner = Object.assign(new Error(message), code === undefined ? {} : { code });
  return new Error('Failed query: ...', { cause: inner });
}

describe('unavailableError', () => {
  it('lets pass what a database server does while it is away, busy or going down, as 503 with Retry-After', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_IOERR_WRITE', 'ECONNREFUSED', '08006', '08001', '53300', '57P01', '57P03', '40001', '40P01', '55P03']) {
      const answer = unavailableError(wrapped(code));
      expect(answer?.code, code).toBe('ORCHESTRATOR_UNAVAILABLE');
      expect(answer?.retryAfter, code).toBe(1);
    }
    for (const message of ['Connection terminated unexpectedly', 'timeout exceeded when trying to connect']) {
      expect(unavailableError(wrapped(undefined, message))?.code, message).toBe('ORCHESTRATOR_UNAVAILABLE');
    }
  });

  it("leaves this instance's own mistakes alone: a constraint, bad SQL, an unknown code", () => {
    // unique_violation, syntax_error, undefined_table: a bug here, not a server away.
    for (const code of ['23505', '42601', '42P01', 'SQLITE_CONSTRAINT', 'E_SOMETHING', '0800']) expect(unavailableError(wrapped(code)), code).toBeUndefined();
    expect(unavailableError(new Error('Connection terminated unexpectedly, or so it says', { cause: undefined }))).toBeUndefined();
    expect(unavailableError('a string')).toBeUndefined();
  });
});
