import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { packDirectory, packFile, unpackInto } from './tar.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'tar-test-'));

describe('packFile', () => {
  it('makes an archive that GNU tar extracts byte for byte, with the owner, mode and time given', async () => {
    const dir = tempDir();
    const content = Buffer.from('héllo\n'.repeat(200), 'utf8');
    writeFileSync(join(dir, 'a.tar'), await bytesOf(packFile('notes.txt', content, { uid: 1000, gid: 1000 }, new Date('2026-01-02T03:04:05Z'))));
    expect(execFileSync('tar', ['-tvf', join(dir, 'a.tar'), '--numeric-owner'], { encoding: 'utf8' })).toMatch(/^-rw-r--r-- 1000\/1000 +1400 2026-01-02 \d\d:04 notes\.txt/);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    expect(readFileSync(join(dir, 'notes.txt'))).toEqual(content);
    expect(statSync(join(dir, 'notes.txt')).mtime.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});

describe('packDirectory', () => {
  it('packs a folder owned by the user given, without its top-level .git', async () => {
    const source = tempDir();
    mkdirSync(join(source, '.git'));
    writeFileSync(join(source, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(join(source, 'src', '.git'), { recursive: true });
    writeFileSync(join(source, 'src', '.git', 'kept'), 'a folder of that name deeper down is kept\n');
    writeFileSync(join(source, 'README.md'), '# hi\n');
    symlinkSync('/usr/bin/env', join(source, 'env'));
    const archive = join(tempDir(), 'a.tar');
    writeFileSync(archive, await bytesOf(packDirectory(source, { owner: { uid: 1234, gid: 5678 }, exclude: ['.git'] })));
    const listing = execFileSync('tar', ['-tvf', archive, '--numeric-owner'], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).slice(5).join(' ')).sort();
    expect(names).toEqual(['.', 'README.md', 'env -> /usr/bin/env', 'src', 'src/.git', 'src/.git/kept']);
    for (const line of listing) expect(line.split(/\s+/)[1]).toBe('1234/5678');
  });

  it('fails the stream for a folder that cannot be read', async () => {
    await expect(bytesOf(packDirectory(join(tempDir(), 'gone'), { owner: { uid: 0, gid: 0 } }))).rejects.toThrow(/ENOENT/);
  });
});

describe('unpackInto', () => {
  it('unpacks a repository with a link to an absolute path, and never writes through a link it made', async () => {
    const work = tempDir();
    const outside = join(work, 'outside');
    mkdirSync(outside);
    const source = join(work, 'source');
    mkdirSync(join(source, 'evil'), { recursive: true });
    writeFileSync(join(source, 'evil', 'x'), 'written through the link\n');
    writeFileSync(join(source, 'file.txt'), 'kept\n');
    // GNU tar writes the archive in the order given: the link first, then a file under it.
    const link = join(work, 'link-first');
    mkdirSync(link);
    symlinkSync(outside, join(link, 'evil'));
    symlinkSync('/usr/bin/env', join(link, 'env'));
    const archive = join(work, 'a.tar');
    execFileSync('tar', ['-cf', archive, '-C', link, 'env', 'evil']);
    execFileSync('tar', ['-rf', archive, '-C', source, 'evil/x', 'file.txt']);

    const into = join(work, 'into');
    mkdirSync(into);
    await expect(unpackInto(createReadStream(archive), into)).rejects.toThrow(/could not unpack/);
    expect(execFileSync('ls', ['-A', outside], { encoding: 'utf8' })).toBe('');
    expect(readFileSync(join(into, 'file.txt'), 'utf8')).toBe('kept\n');

    const benign = join(work, 'benign.tar');
    execFileSync('tar', ['-cf', benign, '-C', link, 'env']);
    const clean = join(work, 'clean');
    mkdirSync(clean);
    await unpackInto(createReadStream(benign), clean);
    expect(execFileSync('readlink', [join(clean, 'env')], { encoding: 'utf8' }).trim()).toBe('/usr/bin/env');
  });
});
