/** Creating the owner account (npm run create-admin) and the hint printed while there is none. */
import crypto from 'node:crypto';
import type { DbOrTx } from '../db/connection';
import { countOwners, insertUser } from '../users/user.repository';
import { hashPassword, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from './password';
import { normalizeEmail } from '../contacts/email-address';

export const OWNER_SETUP_COMMAND = 'npm run create-admin -- --email you@example.com';

/** The line the server prints at start while no owner exists, or undefined once one does. */
export async function ownerSetupHint(db: DbOrTx, baseUrl: string): Promise<string | undefined> {
  if ((await countOwners(db)) > 0) return undefined;
  return `No owner account yet. Create one, while this server runs, with: ${OWNER_SETUP_COMMAND} (a password is generated and printed, or pass --password), then sign in at ${baseUrl}/ (the console) or through ${baseUrl}/api/auth/login`;
}

export function generatePassword(): string {
  return crypto.randomBytes(18).toString('base64url');
}

export async function createOwner(db: DbOrTx, emailInput: string, password: string): Promise<{ id: string; email: string }> {
  const email = normalizeEmail(emailInput);
  if (!email) throw new Error(`"${emailInput}" is not a valid email address`);
  if (password.length < MIN_PASSWORD_CHARS || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new Error(`the password must be ${MIN_PASSWORD_CHARS} characters to ${MAX_PASSWORD_BYTES} bytes long`);
  }
  const user = await insertUser(db, { email, passwordHash: await hashPassword(password), role: 'owner', clientId: null });
  return { id: user.id, email: user.email };
}
