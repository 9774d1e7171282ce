import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMessage, verifyMessage, importVerificationKey, type PublicJwk } from '../src/index.js';
import { builtEntry, createIdentity, type TestIdentity } from './fixtures.js';

// Core runs unchanged in workerd: the *built* package is bundled for the browser/worker
// conditions and run in miniflare with no Node compatibility flags at all.
let mf: Miniflare;
let node: TestIdentity;

beforeAll(async () => {
  node = await createIdentity();
  const bundle = await build({
    entryPoints: [new URL('./workerd/worker.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    alias: { '@mosaic-fed/core': builtEntry('core', 'index.js') },
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  expect(script).not.toMatch(/from\s*["']node:/);
  mf = new Miniflare({ modules: true, script, compatibilityDate: '2026-07-01' });
});

afterAll(async () => {
  await mf?.dispose();
});

describe('core in workerd', () => {
  it('verifies a Node-signed message, signs one Node verifies, and verifies a rotation chain', async () => {
    const workerId = crypto.randomUUID();
    const token = await signMessage(
      {
        kind: 'QUERY',
        iss: node.instanceId,
        aud: workerId,
        queryType: 'agents.list',
        payload: { limit: 10 },
      },
      node.signingKey,
    );
    const response = await mf.dispatchFetch('http://worker.local/', {
      method: 'POST',
      body: JSON.stringify({ token, issuer: node.instanceId, audience: workerId, publicJwk: node.publicJwk }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as {
      verifiedFromNode: { kind: string; payload: unknown; iss: string };
      selfCheckKind: string;
      reply: { token: string; issuer: string; publicJwk: PublicJwk };
      chainLeadsToThird: boolean;
      chainLength: number;
      hasProcess: boolean;
    };
    expect(result.verifiedFromNode).toMatchObject({ kind: 'QUERY', iss: node.instanceId, payload: { limit: 10 } });
    expect(result.selfCheckKind).toBe('RESPONSE');
    expect(result.chainLeadsToThird).toBe(true);
    expect(result.chainLength).toBe(2);
    // No Node compatibility layer was there to lean on.
    expect(result.hasProcess).toBe(false);

    const workerKey = await importVerificationKey(result.reply.publicJwk);
    const reply = await verifyMessage(result.reply.token, {
      audience: node.instanceId,
      resolveKey: () => ({ key: workerKey, instanceId: result.reply.issuer }),
    });
    expect(reply.message).toMatchObject({ kind: 'RESPONSE', success: true, data: { answeredBy: 'workerd' } });
  });
});
