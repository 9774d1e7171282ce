// Secrets at rest: AES-256-GCM (WebCrypto) under a key derived with HKDF-SHA256 from the
// configured secret, a random salt and what the secret is (`info`). What it belongs to
// (the instance id for the private key, the push config's id for its credentials) is bound
// in as additional data, so a sealed value copied to another record does not open.
import { PrivateJwkSchema, type PrivateJwk } from '@mosaic-fed/core';
import { fromBase64url, toBase64url, utf8 } from './encoding.js';

const VERSION = 'v1';
const PRIVATE_KEY = 'mosaic-fed private key v1';

async function deriveKey(secret: string, salt: Uint8Array<ArrayBuffer>, info: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info: utf8(info) },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Raised when a sealed value cannot be opened: the secret is not the one it was sealed with. */
export class SealedKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Seals `text` as `v1.<salt>.<iv>.<ciphertext>` (base64url parts), for `owner`, as `info` says what it is. */
export async function sealText(text: string, secret: string, owner: string, info: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(secret, salt, info);
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(owner) }, key, utf8(text));
  return [VERSION, toBase64url(salt), toBase64url(iv), toBase64url(new Uint8Array(ciphertext))].join('.');
}

/** Opens what {@link sealText} sealed. Throws {@link SealedKeyError} (without details) on any failure. */
export async function openText(sealed: string, secret: string, owner: string, info: string): Promise<string> {
  const [version, salt, iv, ciphertext] = sealed.split('.');
  if (version !== VERSION || salt === undefined || iv === undefined || ciphertext === undefined) {
    throw new SealedKeyError('the stored secret is in an unknown format');
  }
  try {
    const key = await deriveKey(secret, fromBase64url(salt), info);
    const plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64url(iv), additionalData: utf8(owner) }, key, fromBase64url(ciphertext));
    return new TextDecoder().decode(plaintext);
  } catch {
    throw new SealedKeyError('the configured secret does not open the stored secret');
  }
}

/** Seals a private JWK for the instance `instanceId`. */
export function sealPrivateKey(jwk: PrivateJwk, secret: string, instanceId: string): Promise<string> {
  return sealText(JSON.stringify(jwk), secret, instanceId, PRIVATE_KEY);
}

/** Opens a sealed private key. Throws {@link SealedKeyError} (without details) on any failure. */
export async function openPrivateKey(sealed: string, secret: string, instanceId: string): Promise<PrivateJwk> {
  let text: string;
  try {
    text = await openText(sealed, secret, instanceId, PRIVATE_KEY);
  } catch (error) {
    throw error instanceof SealedKeyError && error.message.includes('format')
      ? new SealedKeyError('the stored private key is in an unknown format')
      : new SealedKeyError('the configured secret does not open the stored private key');
  }
  return PrivateJwkSchema.parse(JSON.parse(text));
}
