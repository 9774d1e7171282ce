import { describe, expect, it } from 'vitest';
import { sha256 } from './sha256.js';

const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
const webCrypto = async (data: Uint8Array<ArrayBuffer>) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));

describe('sha256', () => {
  it('gives the FIPS 180-4 example digests', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(hex(sha256(text('')))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(text('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(sha256(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('agrees with WebCrypto at every length up to three blocks and on a large input', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(200));
    for (let length = 0; length <= 200; length++) {
      const data = bytes.subarray(0, length);
      expect(hex(sha256(data)), `length ${length}`).toBe(hex(await webCrypto(data)));
    }
    const large = crypto.getRandomValues(new Uint8Array(65_536)).map((byte, i) => byte ^ i);
    expect(hex(sha256(large))).toBe(hex(await webCrypto(large)));
  });
});
