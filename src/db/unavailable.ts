/**
 * Whether an error means "the database cannot be reached right now" (restart, failover,
 * network, too many connections) rather than "this statement is wrong". The first kind is
 * waited out and retried (workers, background loops) or answered 503 (the API); the second is
 * a bug or bad data and must surface.
 */

/** SQLSTATEs of a server going away or refusing connections, and Node's network error codes. */
const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown: terminating connection due to administrator command
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the database system is starting up / shutting down / in recovery
  '53300', // too_many_connections
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** What pg and pg-pool say (as plain Errors, without a code) when a connection ends or cannot be made in time. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated unexpectedly$/,
  /^Connection terminated due to connection timeout$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /the database system is (starting up|shutting down|in recovery mode)/,
];

/**
 * True when a query failed because the database cannot be reached or went away, not because
 * of the query. Node reports a connect to several addresses that all failed as an
 * AggregateError, looked into.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable);
}

/**
 * How long to wait before try number `attempt + 1` against a database that is away: 0.5 s,
 * doubling, at most 10 s. One policy for every loop that waits one out (a restart takes
 * seconds; a failover up to a minute, when a try every 10 s is plenty).
 */
export function unavailableRetryDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.max(0, attempt));
}
