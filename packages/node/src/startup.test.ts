import { describe, expect, it } from 'vitest';
import { printableUrl, reasonOf, StartupError, startupStep } from './startup.js';

describe('start-up failures, in the words of the setting that caused them', () => {
  it('says why in a few words: the first line, and the system code hidden in a cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    expect(reasonOf(new TypeError('fetch failed', { cause: refused }))).toBe('fetch failed (ECONNREFUSED)');
    // Already said: not twice.
    expect(reasonOf(refused)).toBe('connect ECONNREFUSED 127.0.0.1:6379');
    // No code along the causes: the cause's own first line, unless the message has it.
    expect(reasonOf(new Error('Connection is closed.\n    at x', { cause: new Error('socket hang up\nmore') }))).toBe('Connection is closed. (socket hang up)');
    expect(reasonOf(new Error('open failed: disk full', { cause: new Error('disk full') }))).toBe('open failed: disk full');
    // A code that is no system error code is not one.
    expect(reasonOf(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT' }))).toBe('constraint');
    expect(reasonOf('a string thrown')).toBe('a string thrown');
    expect(reasonOf(null)).toBe('null');
  });

  it('prints a URL without its credentials or query, and says when a value is not one', () => {
    expect(printableUrl('redis://admin:hunter2@valkey.internal:6379/0?tls=true')).toBe('redis://valkey.internal:6379/0');
    expect(printableUrl('libsql://db.example.com?authToken=secret')).toBe('libsql://db.example.com');
    expect(printableUrl('the valkey box')).toBe('(not a URL)');
  });

  it('names the setting of a step that failed, and keeps a failure already named as it is', async () => {
    await expect(startupStep('REDIS_URL', () => Promise.reject(new Error('getaddrinfo ENOTFOUND valkey')))).rejects.toThrow(
      new StartupError('REDIS_URL: getaddrinfo ENOTFOUND valkey'),
    );
    const named = new StartupError('MOSAIC_FED_SANDBOX=docker, but no Docker API answers');
    await expect(startupStep('REDIS_URL', () => Promise.reject(named))).rejects.toBe(named);
    await expect(startupStep('REDIS_URL', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
