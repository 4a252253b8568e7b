/**
 * What every log record goes through before it is written, whichever logger writes it
 * (invariant 6: secrets never reach a log): fields named like secrets are replaced, passwords
 * inside URLs are cut out of any text, and errors keep their name, message and stack.
 */
const SECRET_KEYS = /pass(word)?|secret|token|credential|authorization|private_?key|refresh|api_?key/i;

/** Passwords inside URLs (postgres://user:pw@host) are cut out of any logged text. */
export function redactUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1[redacted]@');
}

/** Redacts `fields` in place and returns it. */
export function redactFields<T extends Record<string, unknown>>(fields: T): T {
  const record = fields as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (SECRET_KEYS.test(key)) record[key] = '[redacted]';
    // Errors passed as a field would serialise to {}: keep what explains them.
    else if (value instanceof Error) {
      record[key] = { name: value.name, message: redactUrlPasswords(value.message), stack: value.stack && redactUrlPasswords(value.stack) };
    } else if (typeof value === 'string') record[key] = redactUrlPasswords(value);
  }
  return fields;
}
