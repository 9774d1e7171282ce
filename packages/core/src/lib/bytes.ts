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

// Base64url for JWS. The TC39 `toBase64` where the engine has it (it is native); elsewhere
// JavaScript of our own, tens of times faster than jose's on a large answer: two output
// characters per table look-up for short input, and bytes decoded once as ASCII for long.
interface ToBase64 {
  toBase64(options: { alphabet: 'base64url'; omitPadding: true }): string;
}
const nativeToBase64 = typeof (Uint8Array.prototype as Partial<ToBase64>).toBase64 === 'function';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALPHABET_BYTES = encoder.encode(ALPHABET);
/** Every 12 bits as their two characters. */
const PAIRS = Array.from({ length: 4096 }, (_, n) => `${ALPHABET[n >>> 6] ?? ''}${ALPHABET[n & 63] ?? ''}`);
/** Above this many bytes, one ASCII decode beats string concatenation. */
const LONG = 1024;

/** The last one or two bytes: two or three characters, no padding. */
function tail(bytes: Uint8Array, whole: number): string {
  const left = bytes.length - whole;
  if (left === 0) return '';
  const n = ((bytes[whole] ?? 0) << 16) | (left === 2 ? (bytes[whole + 1] ?? 0) << 8 : 0);
  const pair = PAIRS[n >>> 12] ?? '';
  return left === 2 ? pair + (ALPHABET[(n >>> 6) & 63] ?? '') : pair;
}

function encodeInJavaScript(bytes: Uint8Array): string {
  const whole = bytes.length - (bytes.length % 3);
  const group = (i: number) => ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
  if (bytes.length <= LONG) {
    let text = '';
    for (let i = 0; i < whole; i += 3) {
      const n = group(i);
      text += (PAIRS[n >>> 12] ?? '') + (PAIRS[n & 4095] ?? '');
    }
    return text + tail(bytes, whole);
  }
  const out = new Uint8Array((whole / 3) * 4);
  const at = (index: number) => ALPHABET_BYTES[index] ?? 0;
  for (let i = 0, o = 0; i < whole; i += 3, o += 4) {
    const n = group(i);
    out[o] = at(n >>> 18);
    out[o + 1] = at((n >>> 12) & 63);
    out[o + 2] = at((n >>> 6) & 63);
    out[o + 3] = at(n & 63);
  }
  return decoder.decode(out) + tail(bytes, whole);
}

/** `bytes` in unpadded base64url (RFC 4648 section 5), as JWS uses it. */
export function base64urlEncode(bytes: Uint8Array): string {
  return nativeToBase64 ? (bytes as Uint8Array & ToBase64).toBase64({ alphabet: 'base64url', omitPadding: true }) : encodeInJavaScript(bytes);
}

/** `text`'s UTF-8 bytes in unpadded base64url. */
export function base64urlEncodeText(text: string): string {
  return base64urlEncode(encoder.encode(text));
}

/** For the tests: the JavaScript encoder, whatever the engine has. */
export const portableBase64urlEncode = encodeInJavaScript;
