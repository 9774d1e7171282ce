import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@mosaic-fed/server';

export const SECRET_FILE = 'secret.key';

/**
 * The key-encryption secret from `<dataDir>/secret.key`, created on first use with
 * permissions 0600 (exclusive create, so two processes starting together agree on one).
 */
export async function loadOrCreateSecretFile(dataDir: string, logger: Logger): Promise<string> {
  const path = join(dataDir, SECRET_FILE);
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
    } finally {
      await handle.close();
    }
    logger.info('created a key-encryption secret', { path });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      logger.warn('the secret file can be read by other users; run chmod 600 on it', {
        path,
        mode: mode.toString(8),
      });
    }
  }
  const secret = (await readFile(path, 'utf8')).trim();
  if (secret.length < 32) throw new Error(`${path} holds a secret shorter than 32 characters`);
  return secret;
}
