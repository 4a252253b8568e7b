import type { DbOrTx } from '../db/connection';

export async function insertRefreshToken(db: DbOrTx, userId: string, tokenHash: string, expiresAt: Date): Promise<void> {
  await db.insertInto('refresh_tokens').values({ user_id: userId, token_hash: tokenHash, expires_at: expiresAt }).execute();
}

/**
 * Uses a refresh token up: one guarded UPDATE, so two concurrent refreshes with the same
 * token cannot both succeed. Returns the user id, or undefined when the token is unknown,
 * expired or already used.
 */
export async function consumeRefreshToken(db: DbOrTx, tokenHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

/** The owner of a token that was already used: presenting it again means it leaked. */
export async function findRevokedTokenOwner(db: DbOrTx, tokenHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('refresh_tokens').select('user_id').where('token_hash', '=', tokenHash).where('revoked_at', 'is not', null).executeTakeFirst();
  return row?.user_id;
}

export async function revokeUserRefreshTokens(db: DbOrTx, userId: string, now: Date): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

export async function deleteExpiredRefreshTokens(db: DbOrTx, now: Date): Promise<number> {
  const result = await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
