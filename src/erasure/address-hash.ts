/**
 * The keyed hash an erased address leaves behind (HMAC-SHA256, hex, of the lower-cased
 * address). The database computes the same value with address_hash() (migration 0026) from
 * the padded keys every session is given at connect (sessionSettingsFor), so SQL suppression
 * checks match hashed entries without the key ever being stored in the database.
 *
 * The key comes from ERASURE_HASH_KEY (base64, 32 bytes) or DATA_DIR/erasure-key, generated
 * once. It must never change: entries hashed with a lost key match nothing any more. Back it up
 * with secrets.json.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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

/** DATA_DIR/erasure-key (mode 0600), created on first use; its own file so secrets.json stays as installed. */
export function loadOrCreateErasureKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'erasure-key');
  if (!fs.existsSync(file)) {
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(temporary, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      // A hard link fails if another process made the file first; then both use that one.
      fs.linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  }
  return parseErasureKey(fs.readFileSync(file, 'utf8'));
}
