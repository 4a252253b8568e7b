/**
 * Winston JSON logs on stdout. Anything that looks like a secret is redacted before it is
 * written (invariant 6), whatever the caller passes in.
 */
import winston from 'winston';

const SECRET_KEYS = /pass(word)?|secret|token|credential|authorization|private_?key|refresh|api_?key/i;

/** Passwords inside URLs (postgres://user:pw@host) are cut out of any logged text. */
export function redactUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1[redacted]@');
}

const redactSecrets = winston.format((info) => {
  const fields = info as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEYS.test(key)) fields[key] = '[redacted]';
    // Errors passed as a field would serialise to {}: keep what explains them.
    else if (value instanceof Error) {
      fields[key] = { name: value.name, message: redactUrlPasswords(value.message), stack: value.stack && redactUrlPasswords(value.stack) };
    } else if (typeof value === 'string') fields[key] = redactUrlPasswords(value);
  }
  return info;
});

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
