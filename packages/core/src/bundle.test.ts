import { describe, expect, it } from 'vitest';
import { assembleBundle, bundleChunk, chunkEnd, sha256Hex } from './bundle.js';
import { LIMITS } from './limits.js';
import { AgentBundleRefSchema, AgentBundleResponseSchema } from './schemas/agents.js';

const agentId = '5b0f3a52-7c1d-4e8a-9f36-2d4c8b1e0a77';

async function bundleOf(length: number) {
  const data = new Uint8Array(length).map((_byte, i) => (i * 31 + 7) % 256);
  return { data, ref: { sha256: await sha256Hex(data), bytes: data.length } };
}

/** A spoke that answers each chunk honestly, unless `alter` changes its answer. */
function reader(data: Uint8Array, ref: { sha256: string; bytes: number }, alter = (chunk: ReturnType<typeof bundleChunk>) => chunk) {
  const asked: number[] = [];
  const read = async (offset: number) => {
    asked.push(offset);
    const chunk = alter(bundleChunk(agentId, ref, offset, data.subarray(offset, chunkEnd(ref, offset))));
    return AgentBundleResponseSchema.parse(chunk);
  };
  return { read, asked };
}

describe('bundles in chunks', () => {
  it('hashes as SHA-256 in lowercase hex', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('cuts a bundle into whole chunks that fit a message and puts them back together', async () => {
    const { data, ref } = await bundleOf(2 * LIMITS.bundleChunkBytes + 5);
    const { read, asked } = reader(data, ref);
    expect(await assembleBundle(ref, read)).toEqual(data);
    expect(asked).toEqual([0, LIMITS.bundleChunkBytes, 2 * LIMITS.bundleChunkBytes]);
    const chunk = await read(0);
    expect(JSON.stringify(chunk).length).toBeLessThan(LIMITS.maxMessageBytes / 1.5);
    expect(chunkEnd(ref, 10, 20)).toBe(30);
    expect(chunkEnd(ref, 0, 10 * LIMITS.bundleChunkBytes)).toBe(LIMITS.bundleChunkBytes);
    expect(() => chunkEnd(ref, ref.bytes)).toThrow(/past its end/);
  });

  it('takes nothing from a peer whose chunks are of another bundle, out of place, too long, or do not add up', async () => {
    const { data, ref } = await bundleOf(LIMITS.bundleChunkBytes + 100);
    const cases: [string, (chunk: ReturnType<typeof bundleChunk>) => ReturnType<typeof bundleChunk>][] = [
      ['another bundle', (chunk) => ({ ...chunk, sha256: 'f'.repeat(64) })],
      ['another place', (chunk) => ({ ...chunk, offset: chunk.offset + 1 })],
      ['an empty chunk', (chunk) => ({ ...chunk, data: '' })],
      ['bytes past the end', (chunk) => (chunk.offset === 0 ? chunk : { ...chunk, data: `${chunk.data}AAAA` })],
      ['other bytes', (chunk) => ({ ...chunk, data: `${chunk.data.startsWith('A') ? 'B' : 'A'}${chunk.data.slice(1)}` })],
    ];
    for (const [what, alter] of cases) {
      await expect(assembleBundle(ref, reader(data, ref, alter).read), what).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    }
  });

  it('takes a bundle only on a branch that is a valid ref name, since readers build refspecs of it', () => {
    const ref = { sha256: 'a'.repeat(64), bytes: 10, base: 'b'.repeat(40) };
    expect(AgentBundleRefSchema.safeParse({ ...ref, branch: 'mosaic/agent-1' }).success).toBe(true);
    for (const branch of ['a:refs/heads/main', '-x', 'a..b', 'a b', '']) expect(AgentBundleRefSchema.safeParse({ ...ref, branch }).success, branch).toBe(false);
  });
});
