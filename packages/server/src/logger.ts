/** Structured fields of a log line. Never put a token, a key or a secret in them. */
export type LogFields = Record<string, unknown>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The logger the server writes to; inject your own, or use {@link createJsonLogger}. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options for {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Receives each line; defaults to `console.log`. */
  write?: (line: string) => void;
  now?: () => Date;
  /** Fields added to every line, such as the instance id. */
  base?: LogFields;
}

/** A logger that writes one JSON object per line: `{"level","time","msg",...fields}`. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  if (threshold === undefined) throw new TypeError(`unknown log level ${String(options.level)}`);
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const log = (level: LogLevel) => (msg: string, fields: LogFields = {}) => {
    if (LEVELS[level] < threshold) return;
    write(JSON.stringify({ level, time: now().toISOString(), msg, ...options.base, ...fields }));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
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
