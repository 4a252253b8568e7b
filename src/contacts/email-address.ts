/**
 * One definition of an acceptable recipient address, used by the API schemas and by the
 * CSV importers (which check millions of rows, so this is a plain regex, not a parser).
 * Addresses are stored lower-cased so uniqueness and suppression checks are exact matches.
 */
const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const MAX_EMAIL_CHARS = 254;

/** The lower-cased address, or undefined when it is not a plain, deliverable-looking address. */
export function normalizeEmail(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_EMAIL_CHARS || !EMAIL_PATTERN.test(trimmed)) return undefined;
  if (trimmed.startsWith('.') || trimmed.includes('..') || trimmed.includes('.@')) return undefined;
  return trimmed.toLowerCase();
}

export function emailDomain(normalized: string): string {
  return normalized.slice(normalized.lastIndexOf('@') + 1);
}

/** CR, LF and other control characters would let a value add headers to a message. */
export function hasControlChars(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(value);
}
