/**
 * What every recipient-facing endpoint (/t, /u, /l) carries: the recipient pages' variant of
 * the security headers (security-headers.ts: their inline style allowed by its hash, resources
 * loadable cross-origin), set over the app's own, and a per-IP rate limit. Over the limit,
 * JSON 429. (The open pixel has its own cheaper limiter in pixel.fast-path.ts: over the limit
 * it still answers its GIF but records nothing.)
 */
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError } from '../http/app-error';
import { securityHeaders } from '../http/security-headers';
import { PAGE_STYLE } from './tracking-pages';

export interface PublicGuards {
  securityHeaders: RequestHandler;
  rateLimit: RequestHandler;
}

export function createPublicGuards(limitPerMinute: number): PublicGuards {
  const common = { windowMs: 60_000, limit: limitPerMinute, standardHeaders: 'draft-7' as const, legacyHeaders: false };
  return {
    // Webmail shows the pixel from another origin, so the resource policy must allow that.
    securityHeaders: securityHeaders({ inlineStyles: [PAGE_STYLE], crossOriginResources: true }),
    rateLimit: rateLimit({
      ...common,
      handler: (_req, res, next) =>
        next(new AppError(429, 'rate_limited', 'Too many requests; try again later', { retryAfterSeconds: Number(res.getHeader('Retry-After') ?? 60) })),
    }),
  };
}
