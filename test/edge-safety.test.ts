import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE "Runtime reach": core, the SDK and the server's main entry run on any
// JavaScript runtime. Their *built* output must not reach for Node or vendor SDKs.
const root = new URL('..', import.meta.url).pathname;

const EDGE_ENTRIES: { pkg: string; forbidden: RegExp[] }[] = [
  {
    pkg: 'core',
    // Core may not even use Node globals (ARCHITECTURE: no `process`, no `Buffer`).
    forbidden: [/["']node:/, /\brequire\(["'](?:fs|path|crypto|buffer|os)["']\)/, /\bprocess\./, /\bBuffer\b/],
  },
  { pkg: 'sdk', forbidden: [/["']node:/, /ioredis/, /dockerode/] },
  { pkg: 'server', forbidden: [/["']node:/, /ioredis/, /dockerode/, /@anthropic-ai/] },
];

function builtFiles(pkg: string): string[] {
  const dist = join(root, 'packages', pkg, 'dist');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`pnpm build\` before these tests`);
  // Only the main entry's files: Node-only subpaths (`node.js`, `cli.js`) are allowed to use Node.
  return readdirSync(dist)
    .filter((file) => /^index\.(?:c?js|d\.c?ts)$/.test(file))
    .map((file) => join(dist, file));
}

describe('edge-ready packages', () => {
  it.each(EDGE_ENTRIES)('$pkg: the built main entry imports nothing Node-only', ({ pkg, forbidden }) => {
    const files = builtFiles(pkg);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of forbidden) {
        expect(text, `${file} matches ${pattern}`).not.toMatch(pattern);
      }
    }
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
