import { describe, expect, it } from 'vitest';
import { SessionSigner } from './session.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const actor = { type: 'admin-token', id: 'token-1' } as const;

describe('SessionSigner', () => {
  it('opens the cookie it issued, and no other spelling of it', async () => {
    const signer = new SessionSigner('session-test-secret-0123456789abcdef0123', () => new Date());
    // Many sessions, so that every value of the MAC's last character comes up.
    for (let i = 0; i < 24; i++) {
      const { value, session } = await signer.issue(actor);
      expect(await signer.open(value)).toEqual(session);
      const last = value.at(-1) ?? '';
      for (const other of ALPHABET) {
        if (other === last) continue;
        // Some of these differ from the issued one only in bits the decoding drops.
        expect(await signer.open(value.slice(0, -1) + other)).toBeUndefined();
      }
    }
  });

  it('opens nothing that is expired, malformed or signed under another secret', async () => {
    let now = new Date('2026-11-25T12:00:00Z');
    const signer = new SessionSigner('session-test-secret-0123456789abcdef0123', () => now);
    const { value } = await signer.issue(actor);
    const other = new SessionSigner('another-secret-0123456789abcdef0123456789', () => now);
    expect(await other.open(value)).toBeUndefined();
    for (const broken of [undefined, '', 'no-dot', `${value}.extra`, `${value.split('.')[0] ?? ''}.%%%`]) {
      expect(await signer.open(broken)).toBeUndefined();
    }
    now = new Date(now.getTime() + 9 * 3_600_000);
    expect(await signer.open(value)).toBeUndefined();
  });
});
