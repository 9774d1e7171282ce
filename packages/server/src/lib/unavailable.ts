// Failures of a store that pass: a database locked by another writer, a full disk, a
// read-only file, a database server that does not answer or is shutting down. They are not this instance's
// bug: a request that meets one is refused as ORCHESTRATOR_UNAVAILABLE (503, "the
// orchestrator, or a store it needs, cannot be reached; safe to retry"), with Retry-After,
// instead of as INTERNAL.
import { FederationError } from '@mosaic-fed/core';

// SQLite's result codes (extended ones start the same: SQLITE_BUSY_TIMEOUT, SQLITE_IOERR_WRITE).
const PASSING_SQLITE = /^(SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL)|CLIENT_CLOSED)/;
// The system's, for a file store or a server that cannot be reached.
const PASSING_SYSTEM = new Set(['ENOSPC', 'EROFS', 'EDQUOT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// PostgreSQL's SQLSTATEs: a connection lost or refused (08), too many connections or a
// full disk (53), the server shutting down or starting (57P01-57P03), a serialization
// failure or deadlock (40001, 40P01), a lock not to be had now (55P03).
const PASSING_POSTGRES = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-3]|40001|40P01|55P03)$/;
// node-postgres's own words for a connection lost mid-query or not made in time (it gives no code).
const PASSING_POSTGRES_CLIENT = /^(Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect)$/;

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

/**
 * The protocol's answer to an error that passes (see above), or undefined for any other.
 * Looks through wrapped errors (`cause`), as drizzle and fetch wrap them.
 */
export function unavailableError(error: unknown): FederationError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const code = codeOf(current);
    const message = current instanceof Error && code === undefined ? current.message : '';
    if ((code !== undefined && (PASSING_SQLITE.test(code) || PASSING_SYSTEM.has(code) || PASSING_POSTGRES.test(code))) || PASSING_POSTGRES_CLIENT.test(message)) {
      return new FederationError('ORCHESTRATOR_UNAVAILABLE', 'a store this instance needs is busy or cannot be reached; retry shortly', {
        retryAfter: 1,
        cause: error,
      });
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
