import { base64url } from 'jose';
import { canonicalJson } from './lib/canonical-json.js';
import { sha256 } from './lib/sha256.js';
import type { FederationMessage } from './schemas/messages.js';

const encoder = new TextEncoder();

/**
 * The content hash the message log keeps per `(iss, jti)` (PROTOCOL 2): base64url SHA-256
 * of the claims without `iat` and `exp`, in canonical JSON. A retry of the same logical
 * message, signed again later, has the same hash; any other content under the same `jti`
 * does not.
 *
 * Synchronous on purpose: every incoming message is hashed, and WebCrypto's `digest` is an
 * asynchronous job that, in Node, hands a few hundred bytes to the thread pool and back,
 * which costs a receiver far more than hashing them in place.
 */
export function messageContentHash(message: FederationMessage): string {
  const { iat: _iat, exp: _exp, ...content } = message;
  return base64url.encode(sha256(encoder.encode(canonicalJson(content))));
}
