import { FederationError } from '@mosaic-fed/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * After the 413 has gone out, a refused body is still read and dropped, up to this size
 * and for this long, so that a client still sending reads the answer instead of a reset
 * connection; then it is cut off. The answer never waits for the body: a client that
 * declares a large body and sends it slowly (or never) holds nothing.
 */
const DRAIN_LIMIT_BYTES = 4 * 1024 * 1024;
const DRAIN_LIMIT_MS = 10_000;

function discardBody(request: Request): void {
  if (request.body === null || request.bodyUsed) return;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = request.body.getReader();
  } catch {
    return; // being read already (the counted path): whoever reads it lets it go
  }
  const cut = () => void reader.cancel().catch(() => undefined);
  const timer = setTimeout(cut, DRAIN_LIMIT_MS);
  void (async () => {
    try {
      for (let read = 0; read <= DRAIN_LIMIT_BYTES; ) {
        const { done, value } = await reader.read();
        if (done) return;
        read += value.byteLength;
      }
      cut();
    } catch {
      // Broken or cut off: nothing left to drain.
    } finally {
      clearTimeout(timer);
    }
  })();
}

/**
 * Refuses a body over `maxBytes` with 413 `PAYLOAD_TOO_LARGE`, before anything reads it,
 * and at once for a declared length over it (PROTOCOL 2).
 *
 * A body that declares its length (the HTTP parser holds it to that length) is judged by
 * the header alone, so the request is never copied into a stream just to be counted: on
 * Node, that copy costs as much as the rest of a small request's handling. A chunked
 * body, or one whose length is unknown, is counted as it is read (Hono's `bodyLimit`).
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = (c: Context): never => {
    discardBody(c.req.raw);
    throw new FederationError('PAYLOAD_TOO_LARGE', `the body is over ${maxBytes} bytes`);
  };
  const counted = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      const length = Number(declared);
      if (Number.isSafeInteger(length) && length >= 0) {
        if (length > maxBytes) tooLarge(c);
        return next();
      }
    }
    return counted(c, next);
  };
}
