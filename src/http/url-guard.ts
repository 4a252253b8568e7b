/**
 * The first check every request goes through (the open pixel aside: it answers before Express
 * and never reads its path into the database). A path whose %-escapes do not decode, or
 * that decodes to a NUL, and a query string holding text Postgres cannot store, are the
 * client's mistake: 400 here, before any router decodes a parameter or a handler puts one in
 * a query. Route handlers can therefore take params and query values as storable text.
 */
import type { RequestHandler } from 'express';
import { AppError } from './app-error';
import { isUnstorableText, refuseUnstorableText, unstorableTextMessage } from './storable-text';

export function urlGuard(): RequestHandler {
  return (req, _res, next) => {
    let path: string;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      // Also what a %-encoded unpaired surrogate (%ED%A0%80: not UTF-8) ends in.
      throw new AppError(400, 'invalid_path', 'The path holds an escape sequence that does not decode (%XX)');
    }
    if (isUnstorableText(path)) {
      throw new AppError(400, 'invalid_path', 'The path holds a character that cannot be stored', { issues: [{ path: 'path', message: unstorableTextMessage(path) }] });
    }
    refuseUnstorableText(req.query, 'query');
    next();
  };
}
