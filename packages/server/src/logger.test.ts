import { describe, expect, it } from 'vitest';
import { createJsonLogger, describeError } from './logger.js';

describe('logging', () => {
  it('writes one JSON object per line at or above the level', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({
      level: 'info',
      write: (line) => lines.push(line),
      now: () => new Date('2026-11-25T12:00:00Z'),
      base: { instanceId: 'i-1' },
    });
    logger.debug('hidden');
    logger.info('request', { status: 200 });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { level: 'info', time: '2026-11-25T12:00:00.000Z', msg: 'request', instanceId: 'i-1', status: 200 },
    ]);
  });

  it('describes an error without its stack, cause or query parameters', () => {
    const error = new Error('Failed query: update "instance" set "encrypted_private_key" = ? params: v1.secret-stuff\nmore', {
      cause: new Error('inner secret'),
    });
    const described = JSON.stringify(describeError(error));
    expect(described).toContain('Failed query');
    expect(described).not.toContain('secret-stuff');
    expect(described).not.toContain('inner secret');
    expect(described).not.toContain('logger.test');
  });
});
