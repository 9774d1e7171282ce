const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Length of `text` in UTF-8 bytes: the unit of the protocol's size limits. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/** `text` as UTF-8 bytes. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

// What the runtime may offer to base64url-encode natively: the TC39 `toBase64` (newer
// engines), else Node's, Bun's and (with nodejs_compat) workerd's `Buffer`. Both are tens
// of times faster than a JavaScript loop on the tens of kilobytes of a large answer.
interface ToBase64 {
  toBase64(options: { alphabet: 'base64url'; omitPadding: true }): string;
}
interface NodeBuffer {
  from(bytes: ArrayBuffer, offset: number, length: number): { toString(encoding: 'base64url'): string };
  from(text: string, encoding: 'utf8'): { toString(encoding: 'base64url'): string };
}
const nativeToBase64 = typeof (Uint8Array.prototype as Partial<ToBase64>).toBase64 === 'function';
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

const ALPHABET = encoder.encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/** The portable way: four alphabet bytes per three input bytes, decoded once as ASCII. */
function encodeInJavaScript(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3));
  const at = (index: number) => ALPHABET[index] ?? 0;
  const whole = bytes.length - (bytes.length % 3);
  let o = 0;
  for (let i = 0; i < whole; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out[o++] = at(n >>> 18);
    out[o++] = at((n >>> 12) & 63);
    out[o++] = at((n >>> 6) & 63);
    out[o++] = at(n & 63);
  }
  const left = bytes.length - whole;
  if (left > 0) {
    const n = ((bytes[whole] ?? 0) << 16) | (left === 2 ? (bytes[whole + 1] ?? 0) << 8 : 0);
    out[o] = at(n >>> 18);
    out[o + 1] = at((n >>> 12) & 63);
    if (left === 2) out[o + 2] = at((n >>> 6) & 63);
  }
  return decoder.decode(out);
}

/** `bytes` in unpadded base64url (RFC 4648 section 5), as JWS uses it. */
export function base64urlEncode(bytes: Uint8Array): string {
  if (nativeToBase64) return (bytes as Uint8Array & ToBase64).toBase64({ alphabet: 'base64url', omitPadding: true });
  if (nodeBuffer !== undefined) return nodeBuffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  return encodeInJavaScript(bytes);
}

/** `text`'s UTF-8 bytes in unpadded base64url. */
export function base64urlEncodeText(text: string): string {
  if (!nativeToBase64 && nodeBuffer !== undefined) return nodeBuffer.from(text, 'utf8').toString('base64url');
  return base64urlEncode(encoder.encode(text));
}

/** For the tests: the portable encoder, whatever the runtime has. */
export const portableBase64urlEncode = encodeInJavaScript;
