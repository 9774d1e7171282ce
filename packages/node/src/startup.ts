// Start-up failures in the words of the setting that caused them: which one, and what
// was wrong with it, rather than a driver's "fetch failed" or "Connection is closed.".

/** A setting that does not work; the message names it and what was wrong. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Why a call failed, in a few words: the first line of its message, and the system error
 * code found along its causes when the message does not say it ("fetch failed" hides an
 * ECONNREFUSED).
 */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  let code: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && code === undefined && typeof current === 'object' && current !== null; depth++) {
    const found = (current as { code?: unknown }).code;
    if (typeof found === 'string' && /^E[A-Z]+$/.test(found)) code = found;
    current = (current as { cause?: unknown }).cause;
  }
  if (code !== undefined) return message.includes(code) ? message : `${message} (${code})`;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const inner = cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : '';
  return inner === '' || message.includes(inner) ? message : `${message} (${inner})`;
}

/** A URL as it may be printed: without user name, password or query. */
export function printableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.href;
  } catch {
    return '(not a URL)';
  }
}

/** The data directory, as a setting that does not work. */
export function dataDirSetting(dataDir: string): string {
  return `the data directory ${dataDir} (--data-dir, MOSAIC_FED_DATA_DIR) cannot be used`;
}

/** Runs a start-up step; a failure becomes a {@link StartupError} that names `setting`. */
export async function startupStep<T>(setting: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(`${setting}: ${reasonOf(error)}`, { cause: error });
  }
}
