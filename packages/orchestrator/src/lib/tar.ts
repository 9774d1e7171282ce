// Archives for the container engine's archive API: a folder packed on the host (tar-fs),
// one file (tar-stream), and an archive from a container unpacked on the host.
import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pack as packTree } from 'tar-fs';
import { pack as tarPack } from 'tar-stream';

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * A folder as a tar stream, each entry owned by `owner`, without the top-level entries
 * named in `exclude` (and what they hold). A file that cannot be read fails the stream.
 */
export function packDirectory(source: string, options: { owner: Owner; exclude?: readonly string[] }): Readable {
  const excluded = new Set((options.exclude ?? []).map((name) => posix.join(source, name)));
  return packTree(source, {
    ignore: (path) => excluded.has(path),
    map: (header) => ({ ...header, uid: options.owner.uid, gid: options.owner.gid, uname: '', gname: '' }),
  });
}

/** A tar stream holding one regular file (mode 0644). */
export function packFile(name: string, content: Buffer, owner: Owner, mtime: Date): Readable {
  const archive = tarPack();
  archive.entry({ name, size: content.byteLength, mode: 0o644, uid: owner.uid, gid: owner.gid, mtime, type: 'file' }, content, (error) => {
    if (error) archive.destroy(error);
    else archive.finalize();
  });
  return archive;
}

/**
 * Unpacks an archive that came out of a sandbox into a host folder, with GNU tar: it
 * extracts what a repository may hold (a symlink to an absolute path, which git keeps as
 * a link) yet never writes through a link the archive made, and it keeps neither owners
 * nor modes. tar-fs refuses the first, so it is not used here. Rejects when tar fails.
 */
export function unpackInto(archive: Readable, hostDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-C', hostDir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    archive.on('error', reject);
    archive.pipe(child.stdin);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`could not unpack the sandbox's files: ${stderr.trim()}`))));
  });
}

/** Waits for `sending`, failing as soon as the stream it sends does. */
export function sendingStream<T>(stream: Readable, sending: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    stream.once('error', reject);
    sending.then(resolve, reject);
  });
}
