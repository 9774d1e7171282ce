import { sha256Hex } from '@mosaic-fed/core';

const encoder = new TextEncoder();

export const utf8 = (text: string): Uint8Array<ArrayBuffer> => encoder.encode(text);

export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Hex SHA-256 of a string's UTF-8: how admin tokens are stored. */
export function sha256HexOfText(text: string): Promise<string> {
  return sha256Hex(utf8(text));
}

/** `length` random bytes, base64url-encoded. */
export function randomToken(length = 32): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(length)));
}
