import { describe, expect, it } from 'vitest';
import { canonicalJson } from './lib/canonical-json.js';
import { messageContentHash } from './message-hash.js';
import type { FederationMessage } from './schemas/messages.js';

const message = (overrides: Partial<Record<string, unknown>> = {}): FederationMessage =>
  ({
    kind: 'COMMAND',
    jti: '3b241101-e2bb-4255-8caf-4136c566a962',
    iss: '0b8a1f5e-7c1d-4a38-9c59-0a0b0c0d0e0f',
    aud: '6f1c2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
    iat: 1_000,
    exp: 1_060,
    commandType: 'agent.spawn',
    payload: { taskId: 't', context: { branch: 'main', repository: 'git.example.com/a/b' } },
    ...overrides,
  }) as FederationMessage;

describe('messageContentHash (PROTOCOL 2)', () => {
  it('ignores iat, exp and key order', () => {
    const a = messageContentHash(message());
    const b = messageContentHash(
      message({
        iat: 5_000,
        exp: 5_300,
        payload: { context: { repository: 'git.example.com/a/b', branch: 'main' }, taskId: 't' },
      }),
    );
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('changes with any other content', () => {
    const base = messageContentHash(message());
    expect(messageContentHash(message({ payload: { taskId: 'u' } }))).not.toBe(base);
    expect(messageContentHash(message({ commandType: 'agent.kill' }))).not.toBe(base);
    expect(messageContentHash(message({ aud: '7f1c2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' }))).not.toBe(base);
  });

  it('is SHA-256 of the canonical JSON, as WebCrypto computes it, for any text', async () => {
    // Hashes already kept in message logs were made with WebCrypto: they must not change.
    const messages = [
      message(),
      message({ payload: { taskId: 'tâche 🛠️', instructions: 'ünïcødé\n\t"quoted"', context: { branch: 'main', repository: 'git.example.com/a/b' } } }),
      message({ payload: { taskId: 'x'.repeat(10_000), context: { branch: 'b', repository: 'git.example.com/a/b' } } }),
    ];
    for (const m of messages) {
      const { iat: _iat, exp: _exp, ...content } = m;
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(content))));
      const base64 = btoa(String.fromCharCode(...digest));
      expect(messageContentHash(m)).toBe(base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    }
  });
});
