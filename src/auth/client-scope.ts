/**
 * Tenant scoping (invariant 5), in one place. Every request carries a ClientScope built from
 * the caller's identity: a client user is pinned to their own client; the owner sees every
 * client, or one if they pass `?clientId=`. Repositories add `ownedBy(scope)` to every read
 * and write of a client-owned row, so a foreign id simply matches nothing and the route
 * answers 404, exactly as for an id that does not exist.
 */
import { sql, type RawBuilder } from 'kysely';
import { clientExists } from '../clients/client.repository';
import type { DbOrTx } from '../db/connection';
import { AppError } from '../http/app-error';

export interface ClientScope {
  /** null: the owner without a client filter (all clients). */
  clientId: string | null;
}

/** The WHERE condition limiting a query to the scope; `column` may be table-qualified. */
export function ownedBy(scope: ClientScope, column = 'client_id'): RawBuilder<boolean> {
  return scope.clientId === null ? sql<boolean>`true` : sql<boolean>`${sql.ref(column)} = ${scope.clientId}`;
}

/**
 * The client a new row belongs to: a client user's own client, always; the owner must name
 * one (`clientId` in the body or the query). The owner's `?clientId=` is not looked up when it
 * is read (auth.middleware.ts), so it is checked here too: a client that does not exist is a
 * 404, not a foreign-key violation at the insert.
 */
export async function clientForCreate(db: DbOrTx, scope: ClientScope, requested?: string): Promise<string> {
  const clientId = scope.clientId ?? requested;
  if (!clientId) {
    throw new AppError(400, 'validation_failed', 'The owner must say which client this belongs to', {
      issues: [{ path: 'clientId', message: 'required for the owner' }],
    });
  }
  if (!(await clientExists(db, clientId))) throw new AppError(404, 'not_found', 'Client not found');
  return clientId;
}

/** The scope narrowed to the client that owns an already-loaded row. */
export function scopeOf(clientId: string): ClientScope {
  return { clientId };
}
