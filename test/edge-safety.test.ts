import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE "Runtime reach": core, the SDK and the server's main entry run on any
// JavaScript runtime. Their *built* output, and every chunk it loads, must not reach for
// Node built-ins (with or without `node:`) or Node-only vendor SDKs.
const root = new URL('..', import.meta.url).pathname;

const NODE_ONLY_PACKAGES = ['ioredis', 'dockerode', 'bullmq', '@anthropic-ai/sdk', '@hono/node-server', '@libsql/client/node'];
const EDGE_ENTRIES: { pkg: string; extraForbidden: RegExp[] }[] = [
  // Core may not even use Node globals (ARCHITECTURE: no `process`, no `Buffer`).
  { pkg: 'core', extraForbidden: [/\bprocess\./, /\bBuffer\b/] },
  { pkg: 'sdk', extraForbidden: [] },
  { pkg: 'server', extraForbidden: [] },
  // The orchestrator is Node-only as a whole, but its root (HttpOrchestrator, the service,
  // LocalOrchestrator's contracts) is what edge servers import; vendors sit behind subpaths.
  { pkg: 'orchestrator', extraForbidden: [] },
];

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

/** A built entry and every relative chunk it loads, transitively. */
function loadedFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (specifier?.startsWith('.')) visit(resolve(dirname(file), specifier));
    }
  };
  visit(entry);
  return [...seen];
}

function specifiers(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map(([, specifier]) => specifier ?? '');
}

const isNodeOnly = (specifier: string) =>
  specifier.startsWith('node:') ||
  builtinModules.includes(specifier.split('/')[0] ?? '') ||
  NODE_ONLY_PACKAGES.some((pkg) => specifier === pkg || specifier.startsWith(`${pkg}/`));

describe('edge-ready packages', () => {
  it.each(EDGE_ENTRIES)('$pkg: the built main entry loads nothing Node-only', ({ pkg, extraForbidden }) => {
    for (const entryFile of ['index.js', 'index.cjs']) {
      const entry = join(root, 'packages', pkg, 'dist', entryFile);
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`pnpm build\` before these tests`);
      for (const file of loadedFiles(entry)) {
        expect(specifiers(file).filter(isNodeOnly), file).toEqual([]);
        const text = readFileSync(file, 'utf8');
        for (const pattern of extraForbidden) expect(text, `${file} matches ${pattern}`).not.toMatch(pattern);
      }
    }
  });

  it('recognises a Node-only import when it sees one', () => {
    // The server's Node entry is allowed Node: it proves the scan above can fail.
    const nodeEntry = join(root, 'packages/server/dist/node.js');
    const found = loadedFiles(nodeEntry).flatMap(specifiers).filter(isNodeOnly);
    expect(found).toEqual(expect.arrayContaining(['node:fs/promises', '@hono/node-server']));
  });

  it('core declares only zod and jose as dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(['jose', 'zod']);
    expect(manifest.peerDependencies).toBeUndefined();
  });
});
