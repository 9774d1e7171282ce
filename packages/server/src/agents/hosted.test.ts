import { describe, expect, it } from 'vitest';
import { deriveAgentId } from './hosted.js';

describe('deriveAgentId', () => {
  it('names a spawn by a UUIDv8 of the SHA-256 of its sender and message id, the same every time', async () => {
    const id = deriveAgentId('hub-instance', 'b8f0c6c2-5d2f-4a55-9a3e-0d7f3c1e2a10');
    // The same bytes through WebCrypto: the first 16 of the digest, version 8, variant 10.
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('hub-instance\nb8f0c6c2-5d2f-4a55-9a3e-0d7f3c1e2a10')));
    const bytes = digest.slice(0, 16);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    expect(id).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deriveAgentId('hub-instance', 'b8f0c6c2-5d2f-4a55-9a3e-0d7f3c1e2a10')).toBe(id);
    expect(deriveAgentId('other-hub', 'b8f0c6c2-5d2f-4a55-9a3e-0d7f3c1e2a10')).not.toBe(id);
  });
});
