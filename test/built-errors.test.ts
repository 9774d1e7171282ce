import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type * as Core from '@mosaic-fed/core';

// The built packages, ESM and CJS alike, keep class names: callers that receive a
// FederationError from another bundle copy of core recognise it by `name` and `code`.
const require = createRequire(import.meta.url);

describe('built error classes', () => {
  it('FederationError keeps its name in the ESM and CJS builds of core', async () => {
    const esm = (await import('../packages/core/dist/index.js')) as typeof Core;
    const cjs = require('../packages/core/dist/index.cjs') as typeof Core;
    const fromEsm = new esm.FederationError('NOT_FOUND', 'no such agent');
    const fromCjs = new cjs.FederationError('NOT_FOUND', 'no such agent');
    expect(fromEsm.name).toBe('FederationError');
    expect(fromCjs.name).toBe('FederationError');
    // Across the two copies: not the same class, still recognised.
    expect(fromCjs instanceof esm.FederationError).toBe(false);
    expect(esm.isFederationError(fromCjs)).toBe(true);
    expect(cjs.isFederationError(fromEsm)).toBe(true);
  });
});
