// The instance's private key at rest: AES-256-GCM (WebCrypto) under a key derived with
// HKDF-SHA256 from the configured secret and a random salt. The instance id is bound in
// as additional data, so a sealed key copied to another instance's record does not open.
import { PrivateJwkSchema, type PrivateJwk } from '@mosaic-fed/core';
import { fromBase64url, toBase64url, utf8 } from './encoding.js';

const VERSION = 'v1';
const INFO = utf8('mosaic-fed private key v1');

async function deriveKey(secret: string, salt: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info: INFO },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Raised when a sealed key cannot be opened: the secret is not the one it was sealed with. */
export class SealedKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Seals a private JWK as `v1.<salt>.<iv>.<ciphertext>` (base64url parts). */
export async function sealPrivateKey(jwk: PrivateJwk, secret: string, instanceId: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(secret, salt);
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: utf8(instanceId) },
    key,
    utf8(JSON.stringify(jwk)),
  );
  return [VERSION, toBase64url(salt), toBase64url(iv), toBase64url(new Uint8Array(ciphertext))].join('.');
}

/** Opens a sealed private key. Throws {@link SealedKeyError} (without details) on any failure. */
export async function openPrivateKey(sealed: string, secret: string, instanceId: string): Promise<PrivateJwk> {
  const [version, salt, iv, ciphertext] = sealed.split('.');
  if (version !== VERSION || salt === undefined || iv === undefined || ciphertext === undefined) {
    throw new SealedKeyError('the stored private key is in an unknown format');
  }
  let plaintext: ArrayBuffer;
  try {
    const key = await deriveKey(secret, fromBase64url(salt));
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: utf8(instanceId) },
      key,
      fromBase64url(ciphertext),
    );
  } catch {
    throw new SealedKeyError('the configured secret does not open the stored private key');
  }
  return PrivateJwkSchema.parse(JSON.parse(new TextDecoder().decode(plaintext)));
}
