/**
 * The send workers' logger: one JSON object per line on stdout, the same shape and redaction
 * as the server's winston logs ({level, message, timestamp, ...meta}), so one log pipeline
 * reads both. Workers do not use winston because it costs each of up to 1,200 processes
 * ~4.5 MB (DESIGN "Processes and scale"); this needs nothing but log-redaction.ts.
 */
import { redactFields } from './log-redaction';

const LEVELS = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 } as const;
type Level = keyof typeof LEVELS;

export interface LineLogger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

/** `level` as for the server's logger (a winston level name, or 'silent'). */
export function createLineLogger(level: string, defaultMeta: Record<string, unknown> = {}, write: (line: string) => void = (line) => process.stdout.write(line)): LineLogger {
  const threshold = level === 'silent' ? -1 : (LEVELS[level as Level] ?? LEVELS.info);
  const log = (name: Level) => (message: string, meta: Record<string, unknown> = {}) => {
    if (LEVELS[name] > threshold) return;
    const record = redactFields({ ...defaultMeta, ...meta, level: name, message, timestamp: new Date().toISOString() });
    write(`${JSON.stringify(record)}\n`);
  };
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
}
