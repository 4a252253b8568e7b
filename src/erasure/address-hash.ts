/**
 * The keyed hash an erased address leaves behind (HMAC-SHA256, hex, of the lower-cased
 * address). The database computes the same value with address_hash() (migration 0026) from
 * the padded keys every session is given at connect (sessionSettingsFor), so SQL suppression
 * checks match hashed entries without the key ever being stored in the database.
 *
 * The key comes from ERASURE_HASH_KEY (base64, 32 bytes) or DATA_DIR/secrets.json's
 * `erasureKey`, generated once. It must never change: entries hashed with a lost key match
 * nothing any more, so it is backed up with the other secrets.
 */
import crypto from 'node:crypto';

const BLOCK_BYTES = 64;
export const ERASED_PREFIX = 'erased:';

export function addressHash(key: Buffer, address: string): string {
  return crypto.createHmac('sha256', key).update(address.trim().toLowerCase(), 'utf8').digest('hex');
}

/** The suppression row's `email` for an erased address. */
export function erasedSuppressionKey(key: Buffer, address: string): string {
  return ERASED_PREFIX + addressHash(key, address);
}

/** The HMAC inner and outer padded keys (RFC 2104) as hex: what address_hash() reads from the session. */
export function sessionSettingsFor(key: Buffer): Record<string, string> {
  const padded = Buffer.alloc(BLOCK_BYTES);
  (key.length > BLOCK_BYTES ? crypto.createHash('sha256').update(key).digest() : key).copy(padded);
  const xor = (byte: number) => Buffer.from(padded.map((b) => b ^ byte)).toString('hex');
  return { 'outreach.address_hash_ipad': xor(0x36), 'outreach.address_hash_opad': xor(0x5c) };
}

export function parseErasureKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`must be 32 bytes of base64 (got ${key.length})`);
  return key;
}
