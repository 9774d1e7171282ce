import { base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { base64urlEncode, base64urlEncodeText, portableBase64urlEncode, utf8 } from './bytes.js';

describe('base64url', () => {
  it('agrees with jose at every length around the three-byte groups, natively and in JavaScript', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(2102));
    for (const length of [...Array.from({ length: 65 }, (_, i) => i), 1023, 1024, 1025, 1026, 1027, 2100]) {
      // At an offset into its buffer, as a view of a larger message is.
      const data = bytes.subarray(length % 3, (length % 3) + length);
      const expected = base64url.encode(data);
      expect(base64urlEncode(data), `length ${data.length}`).toBe(expected);
      expect(portableBase64urlEncode(data), `length ${data.length}`).toBe(expected);
    }
  });

  it('uses the URL alphabet without padding, and encodes text as UTF-8', () => {
    const awkward = new Uint8Array([0xfb, 0xff, 0xbf, 0xfe]);
    expect(base64urlEncode(awkward)).toBe('-_-__g');
    expect(portableBase64urlEncode(awkward)).toBe('-_-__g');
    const text = `{"name":"Zoë ✓ 🚀","long":"${'x'.repeat(40_000)}"}`;
    expect(base64urlEncodeText(text)).toBe(base64url.encode(utf8(text)));
    expect(portableBase64urlEncode(utf8(text))).toBe(base64url.encode(utf8(text)));
  });
});
