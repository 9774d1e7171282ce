import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { FederationError } from './errors.js';
import { computeKid, generateKeyPair, importSigningKey, importVerificationKey, toPublicJwk } from './keys.js';

describe('Ed25519 keys (PROTOCOL 1)', () => {
  it('generates a public JWK whose kid is its RFC 7638 thumbprint', async () => {
    const { publicJwk, privateJwk } = await generateKeyPair();
    expect(publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA' });
    expect(publicJwk).not.toHaveProperty('d');
    expect(publicJwk.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }));
    expect(await computeKid(publicJwk)).toBe(publicJwk.kid);
    expect(toPublicJwk(privateJwk)).toEqual(publicJwk);
  });

  it('matches the RFC 8037 test vector thumbprint', async () => {
    // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 public key.
    const kid = await computeKid({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' });
    expect(kid).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('imports keys that cannot be exported again', async () => {
    const { publicJwk, privateJwk } = await generateKeyPair();
    const signing = await importSigningKey(privateJwk);
    expect(signing.privateKey.extractable).toBe(false);
    expect(signing.publicJwk).toEqual(publicJwk);
    const verification = await importVerificationKey(publicJwk);
    expect(verification.kid).toBe(publicJwk.kid);
  });

  it.each([
    ['a private key', (jwk: Record<string, unknown>, d: string) => ({ ...jwk, d })],
    ['a symmetric key', (jwk: Record<string, unknown>) => ({ ...jwk, kty: 'oct', k: 'c2VjcmV0' })],
    ['another curve', (jwk: Record<string, unknown>) => ({ ...jwk, crv: 'X25519' })],
    ['another alg', (jwk: Record<string, unknown>) => ({ ...jwk, alg: 'ES256' })],
    ['a wrong kid', (jwk: Record<string, unknown>) => ({ ...jwk, kid: 'A'.repeat(43) })],
  ])('refuses a peer key that is %s', async (_label, mutate) => {
    const { publicJwk, privateJwk } = await generateKeyPair();
    const error = await importVerificationKey(mutate(publicJwk, privateJwk.d)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FederationError);
    expect((error as FederationError).code).toBe('VALIDATION_FAILED');
  });
});
