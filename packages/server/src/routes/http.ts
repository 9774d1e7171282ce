import { FederationError } from '@mosaic-fed/core';
import type { Context } from 'hono';

/** The success envelope of the instance's own API (PROTOCOL 6). */
export function ok<T>(c: Context, data: T, status: 200 | 201 = 200): Response {
  return c.json({ success: true as const, data }, status);
}

/** The body as JSON, or `VALIDATION_FAILED` naming the body. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FederationError('VALIDATION_FAILED', 'the body is not JSON', {
      details: [{ path: '(root)', message: 'must be a JSON object' }],
    });
  }
}
