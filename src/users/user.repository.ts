import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { ownedBy, type ClientScope } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { UserRole, UsersTable } from '../db/database';

export type UserRow = Selectable<UsersTable>;

/** Columns safe to return from the API (never the hash). */
const PUBLIC_COLUMNS = ['id', 'client_id', 'email', 'role', 'disabled_at', 'last_login_at', 'created_at', 'updated_at'] as const;
export type PublicUser = Pick<UserRow, (typeof PUBLIC_COLUMNS)[number]>;

export async function findUserByEmail(db: DbOrTx, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where(sql<boolean>`lower(email) = ${email.toLowerCase()}`).executeTakeFirst();
}

export async function findUserById(db: DbOrTx, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countOwners(db: DbOrTx): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'owner').executeTakeFirstOrThrow();
  return row.n;
}

export async function insertUser(
  db: DbOrTx,
  user: { email: string; passwordHash: string; role: UserRole; clientId: string | null },
): Promise<PublicUser> {
  return db
    .insertInto('users')
    .values({ email: user.email, password_hash: user.passwordHash, role: user.role, client_id: user.clientId })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
}

export async function listUsers(db: DbOrTx, scope: ClientScope, page: Page): Promise<PageRows<PublicUser>> {
  return selectPage(db.selectFrom('users').select(PUBLIC_COLUMNS).where(ownedBy(scope)).orderBy('created_at').orderBy('id'), page);
}

export async function getUser(db: DbOrTx, scope: ClientScope, id: string): Promise<PublicUser | undefined> {
  return db.selectFrom('users').select(PUBLIC_COLUMNS).where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
}

export async function updateUser(
  db: DbOrTx,
  scope: ClientScope,
  id: string,
  changes: { role?: UserRole; disabled?: boolean },
): Promise<PublicUser | undefined> {
  return db
    .updateTable('users')
    .set({
      ...(changes.role ? { role: changes.role } : {}),
      ...(changes.disabled === undefined ? {} : { disabled_at: changes.disabled ? new Date() : null }),
      // Disabling or changing a role must end existing sessions at once.
      token_version: sql`token_version + 1`,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where(ownedBy(scope))
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
}

export async function deleteUser(db: DbOrTx, scope: ClientScope, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).where(ownedBy(scope)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Sets a new password and bumps token_version so every token issued before is refused. */
export async function setPassword(db: DbOrTx, id: string, passwordHash: string): Promise<number> {
  const row = await db
    .updateTable('users')
    .set({ password_hash: passwordHash, token_version: sql`token_version + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .returning('token_version')
    .executeTakeFirstOrThrow();
  return row.token_version;
}

export async function recordLogin(db: DbOrTx, id: string, at: Date): Promise<void> {
  await db.updateTable('users').set({ last_login_at: at }).where('id', '=', id).execute();
}
