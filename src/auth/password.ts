/** Password hashing with bcrypt (bcryptjs: pure JS, no native build on install). */
import bcrypt from 'bcryptjs';

const BCRYPT_ROUNDS = 10;
export const MIN_PASSWORD_CHARS = 10;
/** bcrypt only reads 72 bytes; longer passwords would silently collide. */
export const MAX_PASSWORD_BYTES = 72;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_ROUNDS);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/** A hash of a random password, compared against when the email is unknown so timing does not tell. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= bcrypt.hash('not-a-real-password-0000', BCRYPT_ROUNDS);
  return dummyHash;
}
