/**
 * Sponsor API keys: `sk_<prefix>_<secret>`. The prefix (12 hex) finds the row; only a
 * SHA-256 of the whole key is stored. A fast hash is right here (unlike passwords): the key
 * carries 256 random bits, so it cannot be guessed from its hash, and it is checked on
 * every API request.
 */
import crypto from 'node:crypto';

const KEY_PATTERN = /^sk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = crypto.randomBytes(6).toString('hex');
  const key = `sk_${prefix}_${crypto.randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The prefix of a well-formed key, else undefined. */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const given = Buffer.from(hashApiKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && crypto.timingSafeEqual(given, stored);
}
