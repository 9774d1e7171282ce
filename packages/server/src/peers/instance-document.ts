// Fetching a peer's instance document (PROTOCOL 1) through the outbound client: for a
// connect, for a rotation chain, and to see whether a URL vouches for a CONNECT.
import { InstanceDocumentSchema, isFederationError, parseOrThrow, type InstanceDocument } from '@mosaic-fed/core';
import { describeError, type Logger } from '../logger.js';
import { unreachable } from '../outbound/client.js';

/** The path of the instance document under an instance's URL. */
export const INSTANCE_DOCUMENT_PATH = '/.well-known/mosaic-federation';

/**
 * The instance document at `url`. Whatever goes wrong (a refused address, no answer, an
 * HTTP error, something that is not a document) throws the same `PEER_UNAVAILABLE`
 * (PROTOCOL 3: uniform answers); the reason is logged here.
 */
export async function fetchInstanceDocument(fetch: typeof globalThis.fetch, url: string, logger: Logger): Promise<InstanceDocument> {
  try {
    const response = await fetch(new URL(INSTANCE_DOCUMENT_PATH, url), { headers: { Accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`answered HTTP ${response.status}`);
    }
    return parseOrThrow(InstanceDocumentSchema, await response.json(), 'the instance document');
  } catch (error) {
    // The outbound client logged its own refusals already.
    if (!isFederationError(error) || error.code !== 'PEER_UNAVAILABLE') {
      logger.warn('no usable instance document at an address', { url, ...describeError(error) });
    }
    throw unreachable(error);
  }
}

/** Whether two documents name the same instance with the same keys (PROTOCOL 3, step 2). */
export function sameInstance(a: InstanceDocument, b: InstanceDocument): boolean {
  const kids = (document: InstanceDocument) =>
    document.keys
      .map((key) => `${key.kid}:${key.x}`)
      .sort()
      .join(',');
  return a.instanceId === b.instanceId && kids(a) === kids(b);
}
