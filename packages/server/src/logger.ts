import type { LogFields, Logger } from '@mosaic-fed/core';

export { describeError, silentLogger } from '@mosaic-fed/core';
export type { LogFields, Logger } from '@mosaic-fed/core';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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
