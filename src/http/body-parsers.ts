/**
 * Every request body is read through here, with the limit of the route that reads it. The
 * parsers count the bytes as they arrive, whether announced by Content-Length or chunked, and
 * stop at the limit with a 413 before anything is parsed; then text Postgres cannot store is
 * refused with its field named (storable-text.ts). Bodies are read per route, after
 * authentication, never app-wide: a body read once with a larger limit would leave nothing
 * for a smaller per-route limit to count.
 */
import express, { type RequestHandler } from 'express';
import { refuseUnstorableText } from './storable-text';

const storableBody: RequestHandler = (req, _res, next) => {
  refuseUnstorableText(req.body, 'body');
  next();
};

/** application/json bodies (the admin and sponsor API). */
export function jsonBody(limitBytes: number): RequestHandler[] {
  return [express.json({ limit: limitBytes }), storableBody];
}

/** application/x-www-form-urlencoded bodies (the recipients' pages). */
export function formBody(limitBytes: number): RequestHandler[] {
  return [express.urlencoded({ extended: false, limit: limitBytes }), storableBody];
}

/**
 * The body as the bytes received, whatever its content type (ESP webhooks: SNS posts JSON as
 * text/plain, and signatures verify only over the exact bytes). The route checks the text.
 */
export function rawBody(limitBytes: number): RequestHandler[] {
  return [express.raw({ type: () => true, limit: limitBytes })];
}
