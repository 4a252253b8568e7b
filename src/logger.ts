/**
 * Winston JSON logs on stdout. Anything that looks like a secret is redacted before it is
 * written (invariant 6), whatever the caller passes in.
 */
import winston from 'winston';

const SECRET_KEYS = /pass(word)?|secret|token|credential|authorization|private_?key|refresh|api_?key/i;

const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(level: string, defaultMeta: Record<string, unknown> = {}): Logger {
  return winston.createLogger({
    level,
    defaultMeta,
    format: winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
