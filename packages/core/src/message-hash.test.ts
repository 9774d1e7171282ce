import { describe, expect, it } from 'vitest';
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
  it('ignores iat, exp and key order', async () => {
    const a = await messageContentHash(message());
    const b = await messageContentHash(
      message({
        iat: 5_000,
        exp: 5_300,
        payload: { context: { repository: 'git.example.com/a/b', branch: 'main' }, taskId: 't' },
      }),
    );
    expect(a).toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('changes with any other content', async () => {
    const base = await messageContentHash(message());
    expect(await messageContentHash(message({ payload: { taskId: 'u' } }))).not.toBe(base);
    expect(await messageContentHash(message({ commandType: 'agent.kill' }))).not.toBe(base);
    expect(await messageContentHash(message({ aud: '7f1c2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b' }))).not.toBe(base);
  });
});
