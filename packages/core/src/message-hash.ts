import { canonicalJson } from './lib/canonical-json.js';
import type { FederationMessage } from './schemas/messages.js';

/**
 * The content hash the message log keeps per `(iss, jti)` (PROTOCOL 2): base64url SHA-256
 * of the claims without `iat` and `exp`, in canonical JSON. A retry of the same logical
 * message, signed again later, has the same hash; any other content under the same `jti`
 * does not.
 */
export async function messageContentHash(message: FederationMessage): Promise<string> {
  const { iat: _iat, exp: _exp, ...content } = message;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(content)));
  let binary = '';
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
