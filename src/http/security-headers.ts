/**
 * helmet's security headers on every response the server gives (API, OpenAPI document,
 * /healthz, errors, 404s, the recipients' pages), with a Content-Security-Policy strict enough
 * for the web console that will be served at `/` from this origin: its own scripts, styles,
 * images, fonts and API calls only; no inline script or style, no plugins, no <base>, forms
 * posting only here, and no framing by anyone (frame-ancestors and X-Frame-Options: DENY).
 *
 * The recipients' pages differ in two ways only: their one inline <style> block is allowed by
 * its hash (still no 'unsafe-inline'), and their resources may be loaded cross-origin (webmail
 * shows the open pixel from its own origin).
 */
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface SecurityHeaderOptions {
  /** Exact contents of inline <style> elements the page carries, allowed by their SHA-256. */
  inlineStyles?: string[];
  /** Cross-Origin-Resource-Policy: cross-origin instead of same-origin. */
  crossOriginResources?: boolean;
}

const styleHash = (css: string) => `'sha256-${crypto.createHash('sha256').update(css, 'utf8').digest('base64')}'`;

export function securityHeaders(options: SecurityHeaderOptions = {}): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", ...(options.inlineStyles ?? []).map(styleHash)],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: options.crossOriginResources ? 'cross-origin' : 'same-origin' },
  });
}
