/**
 * Truncated HMAC signatures for recipient-facing links (tracking, unsubscribe, landing pages)
 * under a ring of secrets: the first signs, every one verifies, so a key rotates by putting a
 * new one first and keeping the old ones as long as links signed with them may still be
 * clicked (mail stays in inboxes for years). Each purpose derives its own key from each
 * secret, so one secret can serve several purposes without their signatures being
 * interchangeable.
 */
import crypto from 'node:crypto';

/** A raw key (TRACKING_KEYS, DATA_DIR's generated key) or a string secret (the legacy JWT secret). */
export type SigningSecret = string | Buffer;

export interface HmacKeyRing {
  sign(payload: string): string;
  verify(payload: string, signature: string): boolean;
}

export function createHmacKeyRing(secrets: SigningSecret | SigningSecret[], purpose: string, signatureChars: number): HmacKeyRing {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  if (list.length === 0) throw new Error('createHmacKeyRing needs at least one secret');
  const keys = list.map((secret) => crypto.createHmac('sha256', secret).update(purpose).digest());
  const signWith = (key: Buffer, payload: string) => crypto.createHmac('sha256', key).update(payload).digest('base64url').slice(0, signatureChars);
  return {
    sign: (payload) => signWith(keys[0] as Buffer, payload),
    verify(payload, signature) {
      const given = Buffer.from(signature);
      // Every key is tried, also after a match, so the time taken does not tell which one matched.
      let matched = false;
      for (const key of keys) {
        const expected = Buffer.from(signWith(key, payload));
        if (expected.length === given.length && crypto.timingSafeEqual(expected, given)) matched = true;
      }
      return matched;
    },
  };
}
