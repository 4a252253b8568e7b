/**
 * How the console shows a captured message's HTML without trusting it. The HTML is served from
 * its own URL under a CSP that allows no script, no network fetch (images only as data: URIs,
 * so opening a message never fires its tracking pixel) and only this origin to frame it, and the
 * console frames it with a `sandbox` attribute (no scripts, an opaque origin). The URL carries a
 * short-lived signature instead of the bearer token, which an <iframe src> cannot send.
 */
import crypto from 'node:crypto';
import express, { type Router } from 'express';
import { simpleParser } from 'mailparser';
import type { Db } from '../db/connection';
import { getSinkMessage } from './sink-message.repository';

const PREVIEW_TTL_SECONDS = 600;
const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox";

const signature = (secret: string, id: number, expires: number) => crypto.createHmac('sha256', secret).update(`sink-preview\0${id}\0${expires}`).digest('base64url');

export function signedPreviewPath(secret: string, id: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + PREVIEW_TTL_SECONDS;
  return `/sink-preview/${id}?expires=${expires}&signature=${signature(secret, id, expires)}`;
}

function verify(secret: string, id: number, expires: number, given: string, now = Date.now()): boolean {
  if (!Number.isSafeInteger(expires) || expires < now / 1000) return false;
  const expected = Buffer.from(signature(secret, id, expires));
  const actual = Buffer.from(given);
  return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
}

export interface ParsedSinkMessage {
  text: string | null;
  html: string | null;
  headers: { name: string; value: string }[];
}

export async function parseSinkMessage(raw: string): Promise<ParsedSinkMessage> {
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  return {
    text: mail.text ?? null,
    html: typeof mail.html === 'string' ? mail.html : null,
    headers: mail.headerLines.map((line) => ({ name: line.key, value: line.line.slice(line.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim() })),
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function sinkPreviewRoutes(db: Db, secret: string): Router {
  const router = express.Router();
  router.get('/sink-preview/:id', async (req, res, next) => {
    try {
      const id = Number(req.params.id);
      const expires = Number(req.query.expires);
      const given = typeof req.query.signature === 'string' ? req.query.signature : '';
      res.setHeader('content-security-policy', PREVIEW_CSP);
      res.setHeader('x-frame-options', 'SAMEORIGIN');
      res.setHeader('cache-control', 'private, no-store');
      if (!Number.isSafeInteger(id) || id <= 0 || !verify(secret, id, expires, given)) {
        res.status(403).type('text/plain').send('This preview link has expired: open the message again.\n');
        return;
      }
      const message = await getSinkMessage(db, id);
      if (!message) {
        res.status(404).type('text/plain').send('No captured message with this id.\n');
        return;
      }
      const parsed = await parseSinkMessage(message.raw);
      const body = parsed.html ?? `<pre style="white-space:pre-wrap;font-family:monospace">${escapeHtml(parsed.text ?? '')}</pre>`;
      res.type('text/html').send(body);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
