// The git bundle of an agent's commits crosses between instances in chunks (`agent.bundle`,
// docs/protocol.md "Bundles"): one way to cut it, one way to put it back together and
// check it, shared by the spoke, the hub and the SDK.
import { base64url } from 'jose';
import { FederationError } from './errors.js';
import { LIMITS } from './limits.js';
import type { AgentBundleRef, AgentBundleResponse } from './schemas/agents.js';

/** The lowercase hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The answer to `agent.bundle` for the bytes from `offset`: at most `length`, never past the end. */
export function bundleChunk(
  agentId: string,
  ref: Pick<AgentBundleRef, 'sha256' | 'bytes'>,
  offset: number,
  read: Uint8Array,
): AgentBundleResponse {
  return { agentId, sha256: ref.sha256, bytes: ref.bytes, offset, data: base64url.encode(read) };
}

/** Where a chunk ends: `length` bytes from `offset` (default a whole chunk), clipped to the bundle. */
export function chunkEnd(ref: Pick<AgentBundleRef, 'bytes'>, offset: number, length: number = LIMITS.bundleChunkBytes): number {
  if (offset >= ref.bytes) throw new FederationError('VALIDATION_FAILED', `the bundle has ${ref.bytes} bytes: offset ${offset} is past its end`);
  return Math.min(ref.bytes, offset + Math.min(length, LIMITS.bundleChunkBytes));
}

/**
 * Reads a whole bundle chunk by chunk with `read(offset)` and checks it: every chunk must
 * be the one asked for of the bundle `ref` names, and the whole must have its size and
 * digest. Anything else is the peer's fault: `MALFORMED_MESSAGE`, and nothing is returned.
 */
export async function assembleBundle(ref: Pick<AgentBundleRef, 'sha256' | 'bytes'>, read: (offset: number) => Promise<AgentBundleResponse>): Promise<Uint8Array<ArrayBuffer>> {
  const bundle = new Uint8Array(ref.bytes);
  let offset = 0;
  while (offset < ref.bytes) {
    const chunk = await read(offset);
    if (chunk.sha256 !== ref.sha256 || chunk.bytes !== ref.bytes || chunk.offset !== offset) {
      throw new FederationError('MALFORMED_MESSAGE', 'the peer answered with a chunk of another bundle, or from another place in it');
    }
    let data: Uint8Array;
    try {
      data = base64url.decode(chunk.data);
    } catch {
      throw new FederationError('MALFORMED_MESSAGE', "a chunk of the bundle is not base64url");
    }
    if (data.length === 0 || offset + data.length > ref.bytes) {
      throw new FederationError('MALFORMED_MESSAGE', 'a chunk of the bundle is empty or runs past its end');
    }
    bundle.set(data, offset);
    offset += data.length;
  }
  if ((await sha256Hex(bundle)) !== ref.sha256) throw new FederationError('MALFORMED_MESSAGE', 'the bundle does not match its digest');
  return bundle;
}
