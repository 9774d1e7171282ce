import type { Options } from 'tsup';

/**
 * The build every library package shares: ESM and CJS with type declarations. `node:`
 * specifiers are kept (tsup strips them by default), so Node-only imports stay visible to
 * the edge-safety scan. Class names survive bundling.
 */
export function libraryBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
    tsconfig: 'tsconfig.json',
    removeNodeProtocol: false,
    // Classes keep their names in the bundle: errors set `name` from the constructor, and
    // callers switch on it across bundle copies (`isFederationError`).
    keepNames: true,
    ...overrides,
  };
}
