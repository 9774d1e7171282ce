import { base64url, SignJWT } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createClock,
  craftToken,
  createIdentity,
  ed25519Signer,
  type TestIdentity,
} from '../test/fixtures.js';
import { FederationError, type ErrorCode } from './errors.js';
import { signMessage, verifyMessage, type KeyResolver } from './signing.js';
import type { OutgoingMessage } from './schemas/messages.js';

let hub: TestIdentity;
let spoke: TestIdentity;
let stranger: TestIdentity;

beforeAll(async () => {
  [hub, spoke, stranger] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]);
});

const statusCommand = (): OutgoingMessage => ({
  kind: 'COMMAND',
  iss: hub.instanceId,
  aud: spoke.instanceId,
  commandType: 'agent.status',
  payload: { agentId: '3b241101-e2bb-4255-8caf-4136c566a962' },
});

/** The spoke's view: the hub's key is pinned for the hub, nothing else is known. */
const pinnedResolver: KeyResolver = ({ kid }) =>
  kid === hub.verificationKey.kid ? { key: hub.verificationKey, instanceId: hub.instanceId } : undefined;

async function expectRejection(promise: Promise<unknown>, code: ErrorCode): Promise<FederationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FederationError);
  expect((error as FederationError).code).toBe(code);
  return error as FederationError;
}

const header = () => ({ alg: 'EdDSA', typ: 'mosaic-fed+jwt', kid: hub.signingKey.kid });

function claimsAt(nowSeconds: number, overrides: Record<string, unknown> = {}) {
  return {
    ...statusCommand(),
    jti: crypto.randomUUID(),
    iat: nowSeconds,
    exp: nowSeconds + 60,
    ...overrides,
  };
}

describe('signMessage and verifyMessage', () => {
  it('round-trips a command with the protocol header and claims', async () => {
    const clock = createClock();
    const token = await signMessage(statusCommand(), hub.signingKey, { now: clock.now });
    const [encodedHeader] = token.split('.');
    expect(JSON.parse(new TextDecoder().decode(base64url.decode(encodedHeader as string)))).toEqual({
      alg: 'EdDSA',
      typ: 'mosaic-fed+jwt',
      kid: hub.signingKey.kid,
    });

    const verified = await verifyMessage(token, {
      audience: spoke.instanceId,
      resolveKey: pinnedResolver,
      now: clock.now,
    });
    expect(verified.message).toMatchObject({
      ...statusCommand(),
      iat: clock.seconds(),
      exp: clock.seconds() + 60,
    });
    expect(verified.message.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(verified.key.kid).toBe(hub.signingKey.kid);
  });

  it('signs the very bytes jose would, for the large answers too', async () => {
    const clock = createClock();
    const agentIds = Array.from({ length: 500 }, () => crypto.randomUUID());
    const message: OutgoingMessage = { kind: 'QUERY', iss: hub.instanceId, aud: spoke.instanceId, queryType: 'agents.status', payload: { agentIds }, jti: crypto.randomUUID() };
    const token = await signMessage(message, hub.signingKey, { now: clock.now });
    const claims: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1] as string)));
    // Ed25519 is deterministic: the same header, claims and key give the same token.
    const byJose = await new SignJWT(claims as Record<string, unknown>)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'mosaic-fed+jwt', kid: hub.signingKey.kid })
      .sign(hub.signingKey.privateKey);
    expect(token).toBe(byJose);
    expect(token.length).toBeGreaterThan(20_000);
  });

  it('reuses the jti a retry passes in', async () => {
    const jti = crypto.randomUUID();
    const token = await signMessage({ ...statusCommand(), jti }, hub.signingKey);
    const verified = await verifyMessage(token, { audience: spoke.instanceId, resolveKey: pinnedResolver });
    expect(verified.message.jti).toBe(jti);
  });

  it('refuses a lifetime over 300 seconds when signing', async () => {
    await expect(signMessage(statusCommand(), hub.signingKey, { lifetimeSeconds: 301 })).rejects.toThrow(
      TypeError,
    );
    await expect(
      signMessage(statusCommand(), hub.signingKey, { lifetimeSeconds: 300 }),
    ).resolves.toBeTypeOf('string');
  });

  it('refuses to sign claims its peers would reject', async () => {
    const error = await expectRejection(
      signMessage({ ...statusCommand(), aud: 'not-a-uuid' }, hub.signingKey),
      'VALIDATION_FAILED',
    );
    expect(error.details).toEqual([expect.objectContaining({ path: 'aud' })]);
  });
});

describe('verifyMessage rejects (PROTOCOL 2 and 4)', () => {
  const verify = (token: string, now = createClock().now) =>
    verifyMessage(token, { audience: spoke.instanceId, resolveKey: pinnedResolver, now });

  it('rejects alg "none" as malformed without looking up a key', async () => {
    const clock = createClock();
    const resolveKey = vi.fn(pinnedResolver);
    const token = await craftToken({ ...header(), alg: 'none' }, claimsAt(clock.seconds()));
    await expectRejection(
      verifyMessage(token, { audience: spoke.instanceId, resolveKey, now: clock.now }),
      'MALFORMED_MESSAGE',
    );
    expect(resolveKey).not.toHaveBeenCalled();
  });

  it('rejects HS256 signed with the public key as the HMAC secret', async () => {
    const clock = createClock();
    for (const secret of [
      base64url.decode(hub.publicJwk.x),
      new TextEncoder().encode(JSON.stringify(hub.publicJwk)),
    ]) {
      const hmacKey = await crypto.subtle.importKey(
        'raw',
        secret as BufferSource,
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const token = await craftToken({ ...header(), alg: 'HS256' }, claimsAt(clock.seconds()), async (input) =>
        new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, input as BufferSource)),
      );
      await expectRejection(verify(token, clock.now), 'MALFORMED_MESSAGE');
    }
  });

  it('rejects the Ed25519 alg name in place of EdDSA', async () => {
    const clock = createClock();
    const token = await craftToken({ ...header(), alg: 'Ed25519' }, claimsAt(clock.seconds()), ed25519Signer(hub));
    await expectRejection(verify(token, clock.now), 'MALFORMED_MESSAGE');
  });

  it.each(['JWT', 'mosaic-fed-rotation+jwt', undefined])('rejects typ %s', async (typ) => {
    const clock = createClock();
    const token = await craftToken({ ...header(), typ }, claimsAt(clock.seconds()), ed25519Signer(hub));
    await expectRejection(verify(token, clock.now), 'MALFORMED_MESSAGE');
  });

  it.each([
    ['jku', 'https://attacker.example/jwks.json'],
    ['jwk', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }],
    ['crit', ['exp']],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['b64', false],
  ])('rejects a %s header even when the signature is good', async (name, value) => {
    const clock = createClock();
    const token = await craftToken({ ...header(), [name]: value }, claimsAt(clock.seconds()), ed25519Signer(hub));
    const error = await expectRejection(verify(token, clock.now), 'MALFORMED_MESSAGE');
    expect(error.message).toContain('header');
  });

  it('rejects a tampered payload', async () => {
    const clock = createClock();
    const token = await signMessage(statusCommand(), hub.signingKey, { now: clock.now });
    const [h, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    const tampered = base64url.encode(
      JSON.stringify({ ...claims, payload: { agentId: '0b8a1f5e-7c1d-4a38-9c59-0a0b0c0d0e0f' } }),
    );
    await expectRejection(verify(`${h}.${tampered}.${signature}`, clock.now), 'INVALID_SIGNATURE');
  });

  it('rejects a signature by another key under the pinned kid', async () => {
    const clock = createClock();
    const token = await craftToken(header(), claimsAt(clock.seconds()), ed25519Signer(stranger));
    await expectRejection(verify(token, clock.now), 'INVALID_SIGNATURE');
  });

  it('rejects a kid that is not pinned', async () => {
    const clock = createClock();
    const token = await signMessage(statusCommand(), stranger.signingKey, { now: clock.now });
    await expectRejection(verify(token, clock.now), 'UNKNOWN_KEY');
  });

  it('rejects a pinned key used under another instance id', async () => {
    const clock = createClock();
    const token = await signMessage({ ...statusCommand(), iss: stranger.instanceId }, hub.signingKey, {
      now: clock.now,
    });
    await expectRejection(verify(token, clock.now), 'UNKNOWN_KEY');
  });

  it('accepts exp - iat of exactly 300 and rejects 301', async () => {
    const clock = createClock();
    const now = clock.seconds();
    const ok = await craftToken(header(), claimsAt(now, { exp: now + 300 }), ed25519Signer(hub));
    await expect(verify(ok, clock.now)).resolves.toBeDefined();
    const tooLong = await craftToken(header(), claimsAt(now, { exp: now + 301 }), ed25519Signer(hub));
    await expectRejection(verify(tooLong, clock.now), 'MESSAGE_EXPIRED');
  });

  it('accepts iat 60 s ahead and rejects 61 s ahead', async () => {
    const clock = createClock();
    const now = clock.seconds();
    const ok = await craftToken(header(), claimsAt(now, { iat: now + 60, exp: now + 120 }), ed25519Signer(hub));
    await expect(verify(ok, clock.now)).resolves.toBeDefined();
    const ahead = await craftToken(header(), claimsAt(now, { iat: now + 61, exp: now + 121 }), ed25519Signer(hub));
    await expectRejection(verify(ahead, clock.now), 'MESSAGE_EXPIRED');
  });

  it('lets the receiver choose its clock skew', async () => {
    const clock = createClock();
    const now = clock.seconds();
    const token = await craftToken(header(), claimsAt(now, { iat: now + 30, exp: now + 90 }), ed25519Signer(hub));
    await expectRejection(
      verifyMessage(token, {
        audience: spoke.instanceId,
        resolveKey: pinnedResolver,
        now: clock.now,
        maxClockSkewSeconds: 10,
      }),
      'MESSAGE_EXPIRED',
    );
  });

  it('rejects an expired message, and one whose exp is exactly now', async () => {
    const clock = createClock();
    const token = await signMessage(statusCommand(), hub.signingKey, { now: clock.now, lifetimeSeconds: 60 });
    clock.advance(59);
    await expect(verify(token, clock.now)).resolves.toBeDefined();
    clock.advance(1);
    await expectRejection(verify(token, clock.now), 'MESSAGE_EXPIRED');
  });

  it('rejects a message for another audience', async () => {
    const clock = createClock();
    const token = await signMessage({ ...statusCommand(), aud: stranger.instanceId }, hub.signingKey, {
      now: clock.now,
    });
    await expectRejection(verify(token, clock.now), 'WRONG_AUDIENCE');
  });

  it('rejects claims outside the protocol envelope as malformed', async () => {
    const clock = createClock();
    const now = clock.seconds();
    for (const claims of [
      claimsAt(now, { kind: 'SHOUT' }),
      claimsAt(now, { nbf: now }),
      claimsAt(now, { jti: 'not-a-uuid' }),
      { ...claimsAt(now), jti: undefined },
    ]) {
      const token = await craftToken(header(), claims, ed25519Signer(hub));
      await expectRejection(verify(token, clock.now), 'MALFORMED_MESSAGE');
    }
  });

  it('reports a bad CONNECT payload as VALIDATION_FAILED with the fields listed', async () => {
    const clock = createClock();
    const now = clock.seconds();
    const connect = {
      kind: 'CONNECT',
      jti: crypto.randomUUID(),
      iss: hub.instanceId,
      aud: spoke.instanceId,
      iat: now,
      exp: now + 60,
      payload: { protocol: 'mosaic-federation/1', instanceId: hub.instanceId },
    };
    const token = await craftToken(header(), connect, ed25519Signer(hub));
    const error = await expectRejection(verify(token, clock.now), 'VALIDATION_FAILED');
    expect(error.details?.map((d) => d.path)).toEqual(expect.arrayContaining(['payload.name', 'payload.keys']));
  });

  it.each([
    ['an empty string', ''],
    ['two parts', 'abc.def'],
    ['a JWE-shaped token', 'a.b.c.d.e'],
    ['undecodable parts', '!!!.???.***'],
    ['a header that is not JSON', `${base64url.encode('nope')}.e30.AA`],
    ['an oversized token', `${'a'.repeat(300 * 1024)}.e30.AA`],
  ])('rejects %s as malformed', async (_label, token) => {
    await expectRejection(verify(token), 'MALFORMED_MESSAGE');
  });

  it('never answers a crafted token with INTERNAL', async () => {
    const clock = createClock();
    const now = clock.seconds();
    const odd = [
      claimsAt(now, { iat: 'yesterday' }),
      claimsAt(now, { exp: Number.MAX_SAFE_INTEGER * 10 }),
      claimsAt(now, { aud: [spoke.instanceId, stranger.instanceId] }),
    ];
    for (const claims of odd) {
      const token = await craftToken(header(), claims, ed25519Signer(hub));
      const error = await verify(token, clock.now).then(
        () => undefined,
        (caught: unknown) => caught as FederationError,
      );
      expect(error?.code).toBeDefined();
      expect(error?.status).toBeLessThan(500);
    }
  });
});
