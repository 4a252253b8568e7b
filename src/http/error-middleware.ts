/**
 * Every API error leaves as `{error: {code, message, details}}`. A query that failed because
 * the database is down or restarting is a 503 `database_unavailable` with Retry-After (the
 * request may be repeated as is). Unexpected errors are logged with their stack and answered
 * with a generic 500 so internals never leak. Text the database refuses (NUL, unpaired
 * surrogates) is a 400, should it get past the input checks.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { AppError } from './app-error';
import { isDatabaseUnavailable } from '../db/unavailable';
import { isRefusedText } from './db-errors';

/** Seconds a client is asked to wait before repeating a request the database outage failed. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

function fromBodyParser(error: BodyParserError): AppError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', 'Request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'payload_too_large', 'Request body is too large', { limitBytes: error.limit ?? null });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_encoding', error.message);
    default:
      // The router could not decode a path parameter (`/api/clients/%ZZ`): the client's mistake.
      if (error instanceof URIError && error.status === 400) return new AppError(400, 'invalid_path', 'The path holds an escape sequence that does not decode (%XX)', null);
      return undefined;
  }
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new AppError(404, 'not_found', `No route for ${req.method} ${req.path}`));
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    // A response already under way (a streamed export) cannot become an error body: Express's
    // default handler ends the connection so the client sees it incomplete.
    if (res.headersSent) {
      logger.warn('request failed after its response started', { method: req.method, path: req.path, error: (error as Error).message });
      next(error);
      return;
    }
    const appError = error instanceof AppError ? error : fromBodyParser(error as BodyParserError);
    if (appError) {
      res.status(appError.status).json({ error: { code: appError.code, message: appError.message, details: appError.details } });
      return;
    }
    if (isRefusedText(error)) {
      // The input checks missed a value the database cannot take: still the client's input,
      // but logged, since it means a check to add.
      logger.warn('request refused by the database: value it cannot store', { method: req.method, path: req.path, error: (error as Error).message });
      res.status(400).json({ error: { code: 'invalid_text', message: 'A value cannot be stored: it holds a character the database refuses (NUL, an unpaired surrogate) or does not fit its field', details: null } });
      return;
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn('request failed: database unavailable', { method: req.method, path: req.path, error: (error as Error).message });
      res.status(503).set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      res.json({ error: { code: 'database_unavailable', message: 'The database is unavailable; try again shortly', details: null } });
      return;
    }
    logger.error('unhandled request error', { method: req.method, path: req.path, error });
    res.status(500).json({ error: { code: 'internal_error', message: 'Internal server error', details: null } });
  };
}
