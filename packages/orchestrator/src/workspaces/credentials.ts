// Git credentials per host, kept on the host in a file of the data directory (mode 0600):
// the host-side clone answers a repository's host with its credential, and nothing else
// ever sees it. Not the sandbox (the file is outside every mount), not the model (the
// repository URL carries none), not a log line.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GitCredentialDtoSchema, GitCredentialHostSchema, IsoDateTimeSchema, type GitCredential, type GitCredentialDto } from '@mosaic-fed/core';
import { z } from 'zod';

/** The file a data directory keeps git credentials in. */
export const GIT_CREDENTIALS_FILE = 'git-credentials.json';

/** What a clone needs to answer a host: a user name and its password or token. */
export type GitCredentialSecret = GitCredentialDto;

/** Where a clone finds the credential of a repository's host. */
export interface GitCredentialSource {
  /** The credential of `host` (lower case, with the port where the URL has one), if any. */
  forHost(host: string): Promise<GitCredentialSecret | undefined>;
}

const StoredSchema = z.strictObject({
  host: GitCredentialHostSchema,
  ...GitCredentialDtoSchema.shape,
  updatedAt: IsoDateTimeSchema,
});
type Stored = z.infer<typeof StoredSchema>;

const FileSchema = z.strictObject({ version: z.literal(1), credentials: z.array(StoredSchema) });

/** A stored credential as it may be shown: without the password. */
const shown = ({ host, username, updatedAt }: Stored): GitCredential => ({ host, username, updatedAt });

/**
 * The credential file of a data directory. Reads it afresh each time, so a change made
 * through the API or by hand applies to the next clone; writes replace it atomically.
 *
 * @example
 * ```ts
 * const credentials = new GitCredentialFile(join(dataDir, GIT_CREDENTIALS_FILE));
 * await credentials.set('github.com', { username: 'x-access-token', password: token }, new Date());
 * new GitWorkspaceProvider({ addressPolicy, credentials });
 * ```
 */
export class GitCredentialFile implements GitCredentialSource {
  readonly path: string;
  /** Writes of this process, one after another. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async forHost(host: string): Promise<GitCredentialSecret | undefined> {
    const found = (await this.#read()).find((entry) => entry.host === host);
    return found === undefined ? undefined : { username: found.username, password: found.password };
  }

  /** Every credential, without its password, by host. */
  async list(): Promise<GitCredential[]> {
    return (await this.#read()).map(shown);
  }

  /** Sets the credential of `host`; answers it, and the one it replaced (without passwords). */
  set(host: string, credential: GitCredentialDto, now: Date): Promise<{ stored: GitCredential; replaced: GitCredential | undefined }> {
    return this.#change(async (entries) => {
      const stored: Stored = { host, ...credential, updatedAt: now.toISOString() };
      const replaced = entries.find((entry) => entry.host === host);
      return {
        entries: [...entries.filter((entry) => entry.host !== host), stored].sort((a, b) => a.host.localeCompare(b.host)),
        result: { stored: shown(stored), replaced: replaced === undefined ? undefined : shown(replaced) },
      };
    });
  }

  /** Removes the credential of `host`; answers it (without its password), or undefined when there was none. */
  remove(host: string): Promise<GitCredential | undefined> {
    return this.#change(async (entries) => {
      const removed = entries.find((entry) => entry.host === host);
      return { entries: entries.filter((entry) => entry.host !== host), result: removed === undefined ? undefined : shown(removed) };
    });
  }

  async #read(): Promise<Stored[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed = FileSchema.safeParse(JSON.parse(text));
    // The file's content is a secret: the reason names the file, never what is in it.
    if (!parsed.success) throw new TypeError(`${this.path} is not a git credential file (version 1)`);
    return parsed.data.credentials;
  }

  #change<T>(change: (entries: Stored[]) => Promise<{ entries: Stored[]; result: T }>): Promise<T> {
    const run = this.#writing.then(async () => {
      const { entries, result } = await change(await this.#read());
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const next = `${this.path}.${process.pid}.tmp`;
      await writeFile(next, `${JSON.stringify({ version: 1, credentials: entries }, null, 2)}\n`, { mode: 0o600 });
      await chmod(next, 0o600);
      await rename(next, this.path);
      return result;
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }
}
