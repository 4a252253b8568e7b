/** Postgres errors the API turns into client errors (4xx) or a 503 instead of 500s. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23505';
}

export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '23503';
}

/**
 * SQLSTATEs of a server that went away or cannot take connections now: admin_shutdown,
 * crash_shutdown, cannot_connect_now (starting up, shutting down, in recovery), and class 08
 * (connection exception); plus the socket errors of reaching it.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/** What pg and pg-pool say (as plain Errors, without a code) when a connection ends or cannot be made in time. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated unexpectedly$/,
  /^Connection terminated due to connection timeout$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/**
 * True when a query failed because the database cannot be reached or went away (restart,
 * failover, outage), not because of the query: worth a 503 and a retry, never a 500. Node
 * reports a connect to several addresses that all failed as an AggregateError, looked into.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable);
}

/**
 * Errors that a retry of the same statement cannot fix: data exceptions (class 22) and
 * integrity constraint violations (class 23).
 */
export function isPermanentDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
