import { FederationError } from '@mosaic-fed/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * A refused body is read and dropped up to this size before the 413 goes out, so that a
 * client still sending gets the answer instead of a reset connection; a larger body is
 * cut off.
 */
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;

async function drainBody(request: Request): Promise<void> {
  if (request.body === null || request.bodyUsed) return;
  try {
    const reader = request.body.getReader();
    let read = 0;
    while (read <= DRAIN_LIMIT_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // Already consumed or broken: nothing left to drain.
  }
}

/**
 * Refuses a body over `maxBytes` with 413 `PAYLOAD_TOO_LARGE`, before anything reads it.
 *
 * A body that declares its length (the HTTP parser holds it to that length) is judged by
 * the header alone, so the request is never copied into a stream just to be counted: on
 * Node, that copy costs as much as the rest of a small request's handling. A chunked
 * body, or one whose length is unknown, is counted as it is read (Hono's `bodyLimit`).
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = async (c: Context): Promise<never> => {
    await drainBody(c.req.raw);
    throw new FederationError('PAYLOAD_TOO_LARGE', `the body is over ${maxBytes} bytes`);
  };
  const counted = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      const length = Number(declared);
      if (Number.isSafeInteger(length) && length >= 0) {
        if (length > maxBytes) await tooLarge(c);
        return next();
      }
    }
    return counted(c, next);
  };
}
