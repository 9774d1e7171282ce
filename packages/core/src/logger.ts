// The logging seam every package writes to: servers, orchestrators and workers take a
// `Logger` and never decide where lines go.

/** Structured fields of a log line. Never put a token, a key or a secret in them. */
export type LogFields = Record<string, unknown>;

/** A structured logger; inject your own, or use the server's JSON logger. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ignore = (): void => undefined;

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/**
 * What of an error may be logged: its name, code and the first line of its message, with
 * any query parameters cut off (drizzle puts them in its messages). Never the stack,
 * which can carry request data, and never the cause.
 */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: 'non-error thrown' };
  const code = (error as { code?: unknown }).code;
  const reason = (error.message.split('\n')[0] ?? '').replace(/\s*params:.*$/i, '').slice(0, 200);
  return { error: error.name, ...(typeof code === 'string' ? { code } : {}), reason };
}
