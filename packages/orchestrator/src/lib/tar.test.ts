import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { singleFileTar } from './tar.js';

describe('singleFileTar', () => {
  it('makes an archive that GNU tar extracts byte for byte, with the mode and time given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-test-'));
    const content = new TextEncoder().encode('héllo\n'.repeat(200));
    writeFileSync(join(dir, 'a.tar'), singleFileTar('notes.txt', content, { uid: 1000, gid: 1000 }, new Date('2026-01-02T03:04:05Z')));
    expect(execFileSync('tar', ['-tvf', join(dir, 'a.tar')], { encoding: 'utf8' })).toMatch(/^-rw-r--r-- 1000\/1000 +1400 2026-01-02 \d\d:04 notes\.txt/);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    expect(readFileSync(join(dir, 'notes.txt'))).toEqual(Buffer.from(content));
    expect(statSync(join(dir, 'notes.txt')).mtime.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });
});
