import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE "Runtime reach": core, the SDK and the server's main entry run on any
// JavaScript runtime. Their *built* output, and every chunk it loads, must not reach for
// Node built-ins (with or without `node:`) or Node-only vendor SDKs.
const root = new URL('..', import.meta.url).pathname;

const NODE_ONLY_PACKAGES = ['ioredis', 'dockerode', 'bullmq', '@anthropic-ai/sdk', '@hono/node-server', '@libsql/client/node', 'pg', 'drizzle-orm/node-postgres'];
const EDGE_ENTRIES: { pkg: string; extraForbidden: RegExp[] }[] = [
  // Core may not even use Node globals (ARCHITECTURE: no `process`, no `Buffer`).
  { pkg: 'core', extraForbidden: [/\bprocess\./, /\bBuffer\b/] },
  { pkg: 'sdk', extraForbidden: [] },
  { pkg: 'server', extraForbidden: [] },
  // The orchestrator is Node-only as a whole, but its root (HttpOrchestrator, the service,
  // LocalOrchestrator's contracts) is what edge servers import; vendors sit behind subpaths.
  { pkg: 'orchestrator', extraForbidden: [] },
];

// What no edge deployment of the server should install.
const NODE_ONLY_CLOSURE = ['@mosaic-fed/orchestrator', '@mosaic-fed/node', 'ioredis', 'dockerode', 'bullmq', '@anthropic-ai/sdk', '@hono/node-server', 'undici', 'pg'];

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Where `name` resolves from a package directory: the nearest `node_modules/<name>` up the tree. */
function packageDir(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every package installing this one installs: its dependencies, optional dependencies and
 * required peers, transitively, as the package manager resolved them here.
 */
function dependencyClosure(start: string): string[] {
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter((name) => manifest.peerDependenciesMeta?.[name]?.optional !== true);
    for (const name of [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {}), ...peers]) {
      names.add(name);
      const found = packageDir(dir, name);
      if (found !== undefined) visit(found);
    }
  };
  visit(realpathSync(start));
  return [...names].sort();
}

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
    // The Node entry is allowed Node: it proves the scan above can fail.
    const nodeEntry = join(root, 'packages/node/dist/index.js');
    const found = loadedFiles(nodeEntry).flatMap(specifiers).filter(isNodeOnly);
    expect(found).toEqual(expect.arrayContaining(['node:fs/promises', '@hono/node-server']));
  });

  it('installing @mosaic-fed/server installs nothing Node-only', () => {
    // ARCHITECTURE "Dependency direction": deploying the server's main entry to a Worker
    // must not bring the orchestrator's vendors along, however deep in the tree.
    const closure = dependencyClosure(join(root, 'packages/server'));
    expect(closure.filter((name) => NODE_ONLY_CLOSURE.includes(name))).toEqual([]);
    expect(closure).toEqual(expect.arrayContaining(['hono', 'jose', 'zod', '@mosaic-fed/core']));
  });

  it('finds Node-only packages in a closure that has them', () => {
    const closure = dependencyClosure(join(root, 'packages/node'));
    expect(closure).toEqual(expect.arrayContaining(NODE_ONLY_CLOSURE.filter((name) => name !== '@mosaic-fed/node')));
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
