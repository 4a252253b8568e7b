/**
 * API-key authentication for sponsors: `X-Api-Key: sk_<prefix>_<secret>`. A key in the query
 * string is refused outright (400) — URLs end up in logs, proxies and browser history — even
 * before it is checked, so a leaked-by-URL key is never accepted.
 */
import type { Request, RequestHandler } from 'express';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import { apiKeyMatches, apiKeyPrefix } from './api-key';
import { findKeyByPrefix, touchApiKey } from './sponsor.repository';

export interface SponsorCaller {
  sponsorId: string;
  clientId: string;
  keyId: string;
}

const callers = new WeakMap<Request, SponsorCaller>();
const KEY_LIKE_PARAM = /^(x[-_]?)?(api[-_]?key|apikey|key|token|access[-_]?token|secret)$/i;

function looksLikeKey(value: unknown): boolean {
  if (typeof value === 'string') return value.startsWith('sk_');
  if (Array.isArray(value)) return value.some(looksLikeKey);
  if (value && typeof value === 'object') return Object.values(value).some(looksLikeKey);
  return false;
}

export function refuseKeyInQuery(): RequestHandler {
  return (req, _res, next) => {
    const query = req.query as Record<string, unknown>;
    const offending = Object.keys(query).find((name) => KEY_LIKE_PARAM.test(name) || looksLikeKey(query[name]));
    if (offending !== undefined) {
      throw new AppError(400, 'api_key_in_query', 'Send the API key in the X-Api-Key header, never in the URL; this key should now be revoked', {
        issues: [{ path: `query.${offending}`, message: 'API keys are not accepted in the query string' }],
      });
    }
    next();
  };
}

export function authenticateSponsor(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const key = req.get('x-api-key');
    if (!key) throw new AppError(401, 'unauthorized', 'Missing X-Api-Key header');
    const prefix = apiKeyPrefix(key);
    const owner = prefix ? await findKeyByPrefix(db, prefix) : undefined;
    if (!owner || !apiKeyMatches(key, owner.keyHash) || owner.revoked) throw new AppError(401, 'unauthorized', 'Invalid or revoked API key');
    if (!owner.sponsorActive) throw new AppError(403, 'forbidden', 'This sponsor is disabled');
    await touchApiKey(db, owner.keyId);
    callers.set(req, { sponsorId: owner.sponsorId, clientId: owner.clientId, keyId: owner.keyId });
    next();
  };
}

export function getSponsorCaller(req: Request): SponsorCaller {
  const caller = callers.get(req);
  if (!caller) throw new AppError(401, 'unauthorized', 'Not authenticated');
  return caller;
}
