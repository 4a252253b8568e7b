/**
 * AES-256-GCM for stored credentials (SMTP passwords, OAuth refresh tokens, service-account
 * keys). Each value is `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts) with a random
 * 12-byte IV; the version and key id are authenticated as associated data, so a value cannot
 * be moved to another key id. The first configured key encrypts; every configured key
 * decrypts, so keys rotate by prepending a new one and re-encrypting at leisure.
 */
import crypto from 'node:crypto';
import type { CredentialKey } from '../secrets';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CredentialDecryptError extends Error {
  override name = 'CredentialDecryptError';
}

export interface CredentialCipher {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
  /** True when `sealed` was encrypted with a key other than the current one. */
  needsRotation(sealed: string): boolean;
}

export function createCredentialCipher(keys: CredentialKey[]): CredentialCipher {
  const active = keys[0];
  if (!active) throw new Error('createCredentialCipher needs at least one key');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  function parse(sealed: string) {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new CredentialDecryptError('not an encrypted credential value');
    const [version, keyId, iv, tag, ciphertext] = parts as [string, string, string, string, string];
    return { version, keyId, iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url') };
  }

  return {
    encrypt(plaintext) {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', active.key, iv);
      cipher.setAAD(Buffer.from(`${VERSION}.${active.id}`));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, active.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const { version, keyId, iv, tag, ciphertext } = parse(sealed);
      const key = byId.get(keyId);
      if (!key) throw new CredentialDecryptError(`unknown credential key id "${keyId}"`);
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new CredentialDecryptError('malformed encrypted credential value');
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(`${version}.${keyId}`));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // Never include the value or key material in the message: it may end up in logs.
        throw new CredentialDecryptError('encrypted credential failed authentication (tampered or wrong key)');
      }
    },
    needsRotation(sealed) {
      return parse(sealed).keyId !== active.id;
    },
  };
}
