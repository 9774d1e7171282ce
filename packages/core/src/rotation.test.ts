import { beforeAll, describe, expect, it } from 'vitest';
import { craftToken, createClock, createIdentity, ed25519Signer, type TestIdentity } from '../test/fixtures.js';
import { FederationError } from './errors.js';
import { createRotationCertificate, verifyRotationChain } from './rotation.js';

const instanceId = crypto.randomUUID();
// Three generations of one instance's key: k0 (pinned by peers), k1, k2.
let k0: TestIdentity;
let k1: TestIdentity;
let k2: TestIdentity;
let outsider: TestIdentity;
let chain: string[];

beforeAll(async () => {
  [k0, k1, k2, outsider] = await Promise.all([
    createIdentity(instanceId),
    createIdentity(instanceId),
    createIdentity(instanceId),
    createIdentity(),
  ]);
  chain = [
    await createRotationCertificate({ issuer: instanceId, previousKey: k0.signingKey, newKey: k1.publicJwk }),
    await createRotationCertificate({ issuer: instanceId, previousKey: k1.signingKey, newKey: k2.publicJwk }),
  ];
});

async function rejection(promise: Promise<unknown>): Promise<FederationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FederationError);
  expect((error as FederationError).code).toBe('UNKNOWN_KEY');
  return error as FederationError;
}

describe('rotation certificates (PROTOCOL 4)', () => {
  it('verifies a chain from the pinned key to the newest key', async () => {
    const result = await verifyRotationChain({ issuer: instanceId, certificates: chain, pinnedKeys: [k0.publicJwk] });
    expect(result.key).toEqual(k2.publicJwk);
    expect(result.introduced.map((k) => k.kid)).toEqual([k1.publicJwk.kid, k2.publicJwk.kid]);
    // Each replaced key with the date its certificate gives, from which its trust runs out.
    expect(result.replaced.map((r) => r.kid)).toEqual([k0.publicJwk.kid, k1.publicJwk.kid]);
    for (const { iat } of result.replaced) expect(iat).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('starts from a later pinned key and skips the links before it', async () => {
    const result = await verifyRotationChain({ issuer: instanceId, certificates: chain, pinnedKeys: [k1.publicJwk] });
    expect(result.introduced.map((k) => k.kid)).toEqual([k2.publicJwk.kid]);
  });

  it('stops at the target kid', async () => {
    const result = await verifyRotationChain({
      issuer: instanceId,
      certificates: chain,
      pinnedKeys: [k0.publicJwk],
      targetKid: k1.publicJwk.kid,
    });
    expect(result.key).toEqual(k1.publicJwk);
  });

  it('rejects a chain that does not reach the target kid', async () => {
    const error = await rejection(
      verifyRotationChain({
        issuer: instanceId,
        certificates: chain,
        pinnedKeys: [k0.publicJwk],
        targetKid: outsider.publicJwk.kid,
      }),
    );
    expect(error.message).toContain('does not lead');
  });

  it('rejects a chain from an unpinned key', async () => {
    const error = await rejection(
      verifyRotationChain({ issuer: instanceId, certificates: chain, pinnedKeys: [outsider.publicJwk] }),
    );
    expect(error.message).toContain('pinned');
  });

  it('rejects a broken link: a certificate that does not follow the previous key', async () => {
    // k0 -> k1, then a certificate from k0 again: it does not continue from k1.
    const stray = await createRotationCertificate({
      issuer: instanceId,
      previousKey: k0.signingKey,
      newKey: k2.publicJwk,
    });
    const error = await rejection(
      verifyRotationChain({ issuer: instanceId, certificates: [chain[0] as string, stray], pinnedKeys: [k0.publicJwk] }),
    );
    expect(error.message).toContain('certificate 1');
  });

  it('rejects a link signed by a key not in the chain', async () => {
    // An attacker names k1 as the previous key but can only sign with its own key.
    const clock = createClock();
    const forged = await craftToken(
      { alg: 'EdDSA', typ: 'mosaic-fed-rotation+jwt', kid: k1.publicJwk.kid },
      { iss: instanceId, iat: clock.seconds(), prevKid: k1.publicJwk.kid, newKey: outsider.publicJwk },
      ed25519Signer(outsider),
    );
    const error = await rejection(
      verifyRotationChain({
        issuer: instanceId,
        certificates: [chain[0] as string, forged],
        pinnedKeys: [k0.publicJwk],
      }),
    );
    expect(error.message).toContain('signature');
  });

  it('rejects a certificate issued for another instance', async () => {
    const foreign = await createRotationCertificate({
      issuer: crypto.randomUUID(),
      previousKey: k0.signingKey,
      newKey: k1.publicJwk,
    });
    await rejection(verifyRotationChain({ issuer: instanceId, certificates: [foreign], pinnedKeys: [k0.publicJwk] }));
  });

  it('rejects a link whose new key has a kid that is not its thumbprint', async () => {
    const clock = createClock();
    const forged = await craftToken(
      { alg: 'EdDSA', typ: 'mosaic-fed-rotation+jwt', kid: k0.publicJwk.kid },
      { iss: instanceId, iat: clock.seconds(), prevKid: k0.publicJwk.kid, newKey: { ...k1.publicJwk, kid: k2.publicJwk.kid } },
      ed25519Signer(k0),
    );
    const error = await rejection(
      verifyRotationChain({ issuer: instanceId, certificates: [forged], pinnedKeys: [k0.publicJwk] }),
    );
    expect(error.message).toContain('thumbprint');
  });

  it('rejects a certificate with the message typ or an extra header', async () => {
    const clock = createClock();
    const claims = { iss: instanceId, iat: clock.seconds(), prevKid: k0.publicJwk.kid, newKey: k1.publicJwk };
    for (const header of [
      { alg: 'EdDSA', typ: 'mosaic-fed+jwt', kid: k0.publicJwk.kid },
      { alg: 'EdDSA', typ: 'mosaic-fed-rotation+jwt', kid: k0.publicJwk.kid, jku: 'https://x.example' },
    ]) {
      const token = await craftToken(header, claims, ed25519Signer(k0));
      await rejection(verifyRotationChain({ issuer: instanceId, certificates: [token], pinnedKeys: [k0.publicJwk] }));
    }
  });

  it('refuses to create a certificate that introduces the same key', async () => {
    await expect(
      createRotationCertificate({ issuer: instanceId, previousKey: k0.signingKey, newKey: k0.publicJwk }),
    ).rejects.toThrow(TypeError);
  });
});
