/**
 * Every API error leaves as `{error: {code, message, details}}`. Unexpected errors are
 * logged with their stack and answered with a generic 500 so internals never leak.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { AppError } from './app-error';

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
      return undefined;
  }
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new AppError(404, 'not_found', `No route for ${req.method} ${req.path}`));
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = error instanceof AppError ? error : fromBodyParser(error as BodyParserError);
    if (appError) {
      res.status(appError.status).json({ error: { code: appError.code, message: appError.message, details: appError.details } });
      return;
    }
    logger.error('unhandled request error', { method: req.method, path: req.path, error });
    res.status(500).json({ error: { code: 'internal_error', message: 'Internal server error', details: null } });
  };
}
