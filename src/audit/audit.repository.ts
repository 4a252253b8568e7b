/**
 * audit_log rows: written by the API for every successful write (audit-recorder.ts) and by
 * the automatic parts (workers, orchestrator), read newest first by GET /api/audit.
 */
import { sql } from 'kysely';
import type { ClientScope } from '../auth/client-scope';
import { ownedBy } from '../auth/client-scope';
import type { DbOrTx } from '../db/connection';
import type { AuditLogTable } from '../db/database';
import { selectPage, type Page, type PageRows } from '../db/paging';
import type { Selectable } from 'kysely';

export type AuditRow = Selectable<AuditLogTable>;

export interface NewApiAuditRow {
  clientId: string | null;
  actorType: 'user' | 'sponsor';
  actorId: string | null;
  actorEmail: string | null;
  actorRole: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  method: string;
  path: string;
  status: number;
  ip: string | null;
  userAgent: string | null;
  before: unknown;
  after: unknown;
  changes: unknown;
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

export async function insertApiAuditRow(db: DbOrTx, row: NewApiAuditRow): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      client_id: row.clientId,
      actor_type: row.actorType,
      actor_id: row.actorId,
      actor_email: row.actorEmail,
      actor_role: row.actorRole,
      action: row.action,
      entity_type: row.entityType,
      entity_id: row.entityId,
      method: row.method,
      path: row.path,
      status: row.status,
      ip: row.ip,
      user_agent: row.userAgent,
      before: json(row.before),
      after: json(row.after),
      changes: json(row.changes),
      details: '{}',
    })
    .execute();
}

export interface AuditFilters extends Page {
  actor?: string;
  action?: string;
  target?: string;
  from?: Date;
  to?: Date;
}

export async function listAuditRows(db: DbOrTx, scope: ClientScope, filters: AuditFilters): Promise<PageRows<AuditRow>> {
  let query = db.selectFrom('audit_log').selectAll().where(ownedBy(scope));
  // The actor by user id, sponsor id or e-mail (case-insensitive), whichever the caller knows.
  if (filters.actor) query = query.where((eb) => eb.or([eb('actor_id', '=', filters.actor!), eb(sql`lower(actor_email)`, '=', filters.actor!.toLowerCase())]));
  if (filters.action) query = query.where('action', '=', filters.action);
  if (filters.target) query = query.where('entity_id', '=', filters.target);
  if (filters.from) query = query.where('created_at', '>=', filters.from);
  if (filters.to) query = query.where('created_at', '<', filters.to);
  return selectPage(query.orderBy('created_at', 'desc').orderBy('id', 'desc'), filters);
}
