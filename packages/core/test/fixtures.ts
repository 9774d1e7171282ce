// Shared test fixtures for core: identities with real Ed25519 keys, a settable clock,
// and a way to hand-craft tokens that a well-behaved signer would never produce.
import { existsSync } from 'node:fs';
import { base64url } from 'jose';
import {
  generateKeyPair,
  importSigningKey,
  importVerificationKey,
  type AgentSpawnPayloadInput,
  type PrivateJwk,
  type PublicJwk,
  type SigningKey,
  type VerificationKey,
} from '../src/index.js';

export interface TestIdentity {
  instanceId: string;
  publicJwk: PublicJwk;
  privateJwk: PrivateJwk;
  signingKey: SigningKey;
  verificationKey: VerificationKey;
}

export async function createIdentity(instanceId: string = crypto.randomUUID()): Promise<TestIdentity> {
  const { publicJwk, privateJwk } = await generateKeyPair();
  return {
    instanceId,
    publicJwk,
    privateJwk,
    signingKey: await importSigningKey(privateJwk),
    verificationKey: await importVerificationKey(publicJwk),
  };
}

/** A clock frozen at `start` that a test moves on by hand. */
export function createClock(start = new Date('2026-11-25T12:00:00Z')) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(seconds: number) {
      current += seconds * 1000;
    },
    seconds: () => Math.floor(current / 1000),
  };
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A compact JWS with the given header and claims, signed by `sign` over `header.payload`. */
export async function craftToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: (input: Uint8Array) => Promise<Uint8Array> | Uint8Array = () => new Uint8Array(),
): Promise<string> {
  const input = `${encode(header)}.${encode(claims)}`;
  const signature = await sign(new TextEncoder().encode(input));
  return `${input}.${base64url.encode(signature)}`;
}

/** Signs with the identity's Ed25519 key, whatever the header claims. */
export function ed25519Signer(identity: TestIdentity) {
  return async (input: Uint8Array) =>
    new Uint8Array(
      await crypto.subtle.sign('Ed25519', identity.signingKey.privateKey, input as BufferSource),
    );
}

export function validSpawnPayload(): AgentSpawnPayloadInput {
  return {
    taskId: 'task-123',
    agentType: 'worker',
    context: {
      repository: 'git.example.com/org/repo',
      branch: 'feature-branch',
      workItems: ['item-1', 'item-2'],
      instructions: 'Make the failing test pass.',
    },
    options: { timeout: 3_600_000, maxRetries: 3 },
  };
}

/**
 * The path of a package's built file. Tests of built output run after `pnpm build`
 * (the root `test` script builds first); a missing file fails with that advice.
 */
export function builtEntry(pkg: string, file: string): string {
  const path = new URL(`../../${pkg}/dist/${file}`, import.meta.url).pathname;
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`pnpm build\` before these tests`);
  }
  return path;
}
