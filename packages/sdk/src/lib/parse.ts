import { FederationError } from '@mosaic-fed/core';
import type { z } from 'zod';

/**
 * Checks an answer against its schema. An answer that does not match is the other
 * side's fault, so it surfaces as `MALFORMED_MESSAGE`, never as a zod error.
 */
export function parseAnswer<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new FederationError('MALFORMED_MESSAGE', `the answer to ${what} does not match its schema`);
}

/** The `Retry-After` of a response in seconds, as sent (`FederationError.fromWire` drops one that is not a number). */
export function retryAfterOf(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  return header === null ? undefined : Number(header);
}
