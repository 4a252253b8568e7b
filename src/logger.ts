/**
 * Winston JSON logs on stdout for the server. Anything that looks like a secret is redacted
 * before it is written (invariant 6), whatever the caller passes in. Send workers log the same
 * records through src/line-logger.ts instead, without winston's memory.
 */
import winston from 'winston';
import { redactFields } from './log-redaction';

export { redactUrlPasswords } from './log-redaction';

const redactSecrets = winston.format((info) => redactFields(info));

export type Logger = winston.Logger;

/** `level` is a winston level, or 'silent' (tests) for no output at all. */
export function createLogger(level: string, defaultMeta: Record<string, unknown> = {}): Logger {
  return winston.createLogger({
    level: level === 'silent' ? 'error' : level,
    silent: level === 'silent',
    defaultMeta,
    format: winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
