/** Postgres errors the API turns into client errors (4xx) or a 503 instead of 500s. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23503';
}

/**
 * Errors that a retry of the same statement cannot fix: data exceptions (class 22) and
 * integrity constraint violations (class 23).
 */
export function isPermanentDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Text the database refuses: NUL or an unpaired surrogate (22021 invalid byte sequence,
 * 22P05 untranslatable character) or a value its column type cannot read (22P02). The edge
 * refuses these first (url-guard.ts, body-parsers.ts, validation); this is the last line.
 */
export function isRefusedText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05' || code === '22P02';
}
